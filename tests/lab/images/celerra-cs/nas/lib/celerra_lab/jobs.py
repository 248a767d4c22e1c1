"""Background jobs of the Control Station: upgrades, rollbacks and mover reboots.

A job is recorded in state["jobs"] and run by a detached process (`python3 -m celerra_lab.jobs
run <id>`, started through a launcher that forks and exits, the job in its own session). Upgrade
jobs inherit the global lock's descriptor from the command that started them and hold it until
they end. Jobs sleep through the simulated durations and write their progress to the state at
each step, so what the CLI reads is always consistent with what the movers serve.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

from . import agent, model, store

LIB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# How long a mover coming back from a reboot keeps trying to reach its agent.
BRING_UP_WAIT = 300.0


def log(root, text):
    try:
        os.makedirs(store.log_dir(root), exist_ok=True)
        with open(os.path.join(store.log_dir(root), "jobs.log"), "a", encoding="utf-8") as fh:
            fh.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), text))
    except OSError:
        pass


def new_job(state, kind, **fields):
    job_id = "%s-%s" % (kind, uuid.uuid4().hex[:12])
    state.setdefault("jobs", {})[job_id] = dict(fields, kind=kind, pid=None,
                                                started=store.now())
    return job_id


def start_reboot(state, mover_name, span):
    """Mark a mover rebooting from now; consumes a dm_panic fault aimed at it. Returns panic.

    A mover named by the dm_dead fault (not consumed) gets a reboot that never completes: the boot
    record is marked dead, unless a dm_panic fault for it makes this reboot panic first.
    """
    panics = state["faults"].get("dm_panic", [])
    panic = mover_name in panics
    if panic:
        panics = [m for m in panics if m != mover_name]
        if panics:
            state["faults"]["dm_panic"] = panics
        else:
            state["faults"].pop("dm_panic", None)
    dead = not panic and mover_name in state["faults"].get("dm_dead", [])
    boot = state["movers"][mover_name]["boot"]
    boot.update({"state": "rebooting", "started": store.now(), "duration": span,
                 "panic": panic, "dead": dead})
    return panic


def spawn(root, job_id, lock_fd=None):
    """Start the job detached; the launcher returns at once, the job runs in its own session."""
    env = dict(os.environ)
    env["NAS_DB"] = root
    env["PYTHONPATH"] = LIB_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                   else "")
    pass_fds = ()
    if lock_fd is not None:
        env["CELERRA_LAB_LOCK_FD"] = str(lock_fd)
        pass_fds = (lock_fd,)
    subprocess.run([sys.executable, "-m", "celerra_lab.jobs", "launch", job_id], env=env,
                   pass_fds=pass_fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)


def _launch(job_id):
    """Fork; the parent returns to spawn() at once, the child runs the job in a new session.

    The child keeps the launcher's command line, so job_pids() finds it from the moment
    spawn() returns."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        code = run(job_id)
    except BaseException:  # logged by run(); the process must not return into the launcher
        code = 1
    os._exit(code)


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return fh.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def _environ_nas_db(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as fh:
            for item in fh.read().split(b"\0"):
                if item.startswith(b"NAS_DB="):
                    return item[7:].decode("utf-8", "replace")
    except OSError:
        pass
    return None


def alive(pid, job_id):
    """Is pid still the process of this job (not a recycled pid)?"""
    if not pid:
        return False
    cmd = _cmdline(pid)
    if job_id not in cmd:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def job_pids(root):
    """Every running job process of this NAS_DB, found in /proc (zombies excluded)."""
    pids = []
    real_root = os.path.realpath(root)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        cmd = _cmdline(pid)
        if len(cmd) >= 4 and cmd[1:3] == ["-m", "celerra_lab.jobs"] and cmd[3] in ("launch",
                                                                                   "run"):
            db = _environ_nas_db(pid)
            if db is not None and os.path.realpath(db) == real_root:
                pids.append((pid, cmd[4] if len(cmd) > 4 else ""))
    return pids


def _kill_and_wait(pid, job_id, timeout=10.0):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while alive(pid, job_id) and time.time() < deadline:
        time.sleep(0.02)
    if alive(pid, job_id):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        while alive(pid, job_id):
            time.sleep(0.02)


def stop(root, job_id):
    """Stop one job and wait until its process is gone (its lock is then free)."""
    if not job_id:
        return
    for pid, jid in job_pids(root):
        if jid == job_id:
            _kill_and_wait(pid, jid)
    with store.update(root) as state:
        state.get("jobs", {}).pop(job_id, None)


def stop_all(root):
    for pid, jid in job_pids(root):
        _kill_and_wait(pid, jid)


def sleep_until(deadline):
    delay = deadline - time.time()
    if delay > 0:
        time.sleep(delay)


# ---------------------------------------------------------------- job bodies

def bring_up(root, conf, mover_name, wait=BRING_UP_WAIT):
    """End of a reboot: tell the agent to serve again, then mark the mover ready (reason 5).

    Returns True; when the agent stays unreachable the mover is left panicked (reason 7).
    """
    deadline = time.time() + wait
    while True:
        state = store.load(root)
        mover = state["movers"][mover_name]
        try:
            agent.apply(conf, mover_name, model.served(mover_name, mover))
            break
        except agent.AgentError as exc:
            if time.time() >= deadline:
                log(root, "%s: agent unreachable after reboot, mover left down: %s"
                    % (mover_name, exc))
                with store.update(root) as state:
                    state["movers"][mover_name]["boot"]["state"] = "panicked"
                return False
            time.sleep(1.0)
    with store.update(root) as state:
        mover = state["movers"][mover_name]
        mover["boot"].update({"state": "ready", "panic": False, "dead": False, "job": None})
        if mover.get("pending_version"):
            mover["version"] = mover["pending_version"]
            mover["pending_version"] = None
    return True


def mark_dead(root, mover_name):
    """The end of a reboot that never completes: the mover stays down (reason 0), serving nothing."""
    with store.update(root) as state:
        state["movers"][mover_name]["boot"].update({"state": "dead", "job": None})
    log(root, "%s: did not come back from its reboot (dm_dead), left down" % mover_name)


def run_reboot(root, conf, job):
    mover_name = job["mover"]
    boot = store.load(root)["movers"][mover_name]["boot"]
    if boot.get("dead"):
        sleep_until(boot["started"] + boot["duration"])
        mark_dead(root, mover_name)
        return
    if boot.get("panic"):
        sleep_until(boot["started"] + boot["duration"] * 2.0 / 3.0)
        with store.update(root) as state:
            state["movers"][mover_name]["boot"].update({"state": "panicked", "job": None})
        log(root, "%s: panicked during reboot" % mover_name)
        return
    sleep_until(boot["started"] + boot["duration"])
    bring_up(root, conf, mover_name)


def _run_steps(root, kind):
    """Walk the CS upgrade or rollback steps; returns False when it failed at its fail_at step
    (the cs_upgrade_fail or cs_rollback_fail fault), halfway through that step."""
    up = store.load(root)["cs"]["upgrade"]
    steps = up["steps"]
    step_span = up["duration"] / steps
    what = "upgrade" if kind == "cs_upgrade" else "rollback"
    for i in range(1, steps + 1):
        with store.update(root) as state:
            rec = state["cs"]["upgrade"]
            rec["step"] = i
            rec["step_name"] = rec["step_names"][i - 1]
        if up.get("fail_at") == i:
            sleep_until(up["started"] + (i - 0.5) * step_span)
            with store.update(root) as state:
                rec = state["cs"]["upgrade"]
                rec["state"] = "failed"
                rec["progress"] = int(100.0 * (i - 0.5) / steps)
                rec["job"] = None
            log(root, "cs %s failed at step %d/%d %s" % (what, i, steps, up["step_names"][i - 1]))
            return False
        sleep_until(up["started"] + i * step_span)
    return True


def run_cs_upgrade(root, conf, job):
    if _run_steps(root, "cs_upgrade"):
        with store.update(root) as state:
            rec = state["cs"]["upgrade"]
            state["cs"]["version"] = rec["to"]
            rec.update({"state": "done", "job": None, "progress": 100})
        log(root, "cs upgrade done")


def run_cs_rollback(root, conf, job):
    # A failed rollback leaves the station inconsistent on neither version, its previous version
    # kept, so that `nas_upgrade -cs -rollback` can be run again.
    if not _run_steps(root, "cs_rollback"):
        return
    with store.update(root) as state:
        rec = state["cs"]["upgrade"]
        state["cs"]["version"] = rec["to"]
        state["cs"]["previous"] = None
        rec.update({"state": "rolled_back", "job": None, "progress": 100})
    log(root, "cs rollback done")


def _abort_dm(state, failed, queued, progress):
    rec = state["movers"][failed]["upgrade"]
    rec.update({"state": "failed", "progress": progress, "job": None})
    for name in queued:
        version = state["movers"][name]["version"]
        state["movers"][name]["upgrade"] = store.idle_dm_upgrade(version)


def run_dm_upgrade(root, conf, job):
    movers = list(job["movers"])
    reboot_span = store.duration(conf, "reboot")
    for index, name in enumerate(movers):
        queued = movers[index + 1:]
        started = store.now()
        with store.update(root) as state:
            rec = state["movers"][name]["upgrade"]
            rec.update({"step": 1, "step_name": "install", "started": started})
            install, span = rec["install"], rec["duration"]
        sleep_until(started + install)
        with store.update(root) as state:
            mover = state["movers"][name]
            mover["pending_version"] = job["to"]
            mover["upgrade"].update({"step": 2, "step_name": "reboot"})
        install_pct = int(100.0 * install / span) if span else 0
        try:
            agent.down(conf, name)
        except agent.AgentError as exc:
            log(root, "dm upgrade of %s failed: agent unreachable: %s" % (name, exc))
            with store.update(root) as state:
                _abort_dm(state, name, queued, install_pct)
            return
        with store.update(root) as state:
            panic = start_reboot(state, name, reboot_span)
            boot_started = state["movers"][name]["boot"]["started"]
            dead = state["movers"][name]["boot"]["dead"]
        if dead:
            # The mover never comes back: the upgrade waits for it until its own timeout (counted
            # from the start of the reboot), then fails; the mover stays down (reason 0).
            sleep_until(boot_started + reboot_span)
            mark_dead(root, name)
            sleep_until(boot_started + store.duration(conf, "dm_reboot_timeout"))
            with store.update(root) as state:
                _abort_dm(state, name, queued, install_pct)
            log(root, "dm upgrade of %s failed: mover did not come back from its reboot" % name)
            return
        if panic:
            sleep_until(boot_started + reboot_span * 2.0 / 3.0)
            with store.update(root) as state:
                state["movers"][name]["boot"].update({"state": "panicked", "job": None})
                _abort_dm(state, name, queued, install_pct)
            log(root, "dm upgrade of %s failed: mover panicked" % name)
            return
        sleep_until(boot_started + reboot_span)
        if not bring_up(root, conf, name):
            with store.update(root) as state:
                _abort_dm(state, name, queued, install_pct)
            return
        with store.update(root) as state:
            state["movers"][name]["upgrade"].update({"state": "done", "progress": 100,
                                                     "job": None})
        log(root, "dm upgrade of %s done" % name)


RUNNERS = {
    "reboot": run_reboot,
    "cs_upgrade": run_cs_upgrade,
    "cs_rollback": run_cs_rollback,
    "dm_upgrade": run_dm_upgrade,
}


def run(job_id):
    root = store.nas_db()
    conf = store.read_conf(root)
    with store.update(root) as state:
        job = state.get("jobs", {}).get(job_id)
        if job is None:
            return 1
        job["pid"] = os.getpid()
    try:
        RUNNERS[job["kind"]](root, conf, job)
    except Exception as exc:  # recorded for the lab's operator; the job ends
        log(root, "job %s crashed: %r" % (job_id, exc))
        raise
    finally:
        with store.update(root) as state:
            state.get("jobs", {}).pop(job_id, None)
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "launch":
        _launch(argv[1])
        return 0
    if len(argv) == 2 and argv[0] == "run":
        return run(argv[1])
    sys.stderr.write("usage: python3 -m celerra_lab.jobs {launch|run} <job-id>\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
