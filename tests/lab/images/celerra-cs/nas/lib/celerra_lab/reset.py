"""celerra-lab-reset: write the starting state and push it to the movers (root).

  celerra-lab-reset [--wait SECONDS]
      stop every running job, write the starting state (docs/celerra-cli.md, "State"), keep
      lab.conf (adding defaults it lacks), clear the faults (all of them, cs_rollback_fail and
      dm_dead included: a dead mover is ready again), and push what each mover serves to
      its agent. Unreachable agents are retried for SECONDS (default 30; 0: one try); exit 1
      when a mover could not be told.
  celerra-lab-reset --sync [--wait SECONDS]
      keep the state; finish what jobs that no longer run left behind (a reboot comes back, an
      interrupted upgrade is marked failed, a reboot of a dm_dead mover stays dead) and push the
      current state to the movers again (the Control Station's start, or after a mover's
      container was restarted). Faults are kept.
"""

import os
import sys
import time

from . import agent, jobs, model, store

USAGE = "usage: celerra-lab-reset [--sync] [--wait SECONDS]"
DEFAULT_WAIT = 30.0


def _chown_like_dir(root):
    """Files written by root stay writable for the CLI's user (the owner of the state dir)."""
    directory = store.state_dir(root)
    st = os.stat(directory)
    for name in ("state.json", "state.lock", "global.lock"):
        path = os.path.join(directory, name)
        if os.path.exists(path) and os.geteuid() == 0:
            os.chown(path, st.st_uid, st.st_gid)
    log_dir = store.log_dir(root)
    if os.path.isdir(log_dir) and os.geteuid() == 0:
        for name in os.listdir(log_dir):
            os.chown(os.path.join(log_dir, name), st.st_uid, st.st_gid)


def push_all(root, conf, wait, out, err):
    """Tell every mover what it serves (or that it is down); returns the movers that failed."""
    deadline = time.time() + wait
    pending = model.mover_names(store.load(root))
    while True:
        state = store.load(root)
        failed = []
        for name in pending:
            mover = state["movers"][name]
            try:
                if model.mover_ready(mover):
                    agent.apply(conf, name, model.served(name, mover))
                    paths = " ".join(e["path"] for e in mover["exports"]) or "nothing"
                    out.write("%s: serving %s\n" % (name, paths))
                else:
                    agent.down(conf, name)
                    out.write("%s: down (reason %d)\n" % (name, model.mover_reason(mover)))
            except agent.AgentError as exc:
                failed.append((name, str(exc)))
        pending = [item[0] for item in failed]
        if not pending or time.time() >= deadline:
            for name, text in failed:
                err.write("celerra-lab-reset: %s: agent not reached: %s\n" % (name, text))
            return pending
        time.sleep(1.0)


def recover(root, conf, out):
    """Finish what jobs that are no longer running left half done."""
    running = {item[1] for item in jobs.job_pids(root)}
    state = store.load(root)
    for job_id in list(state.get("jobs", {})):
        if job_id not in running:
            with store.update(root) as st:
                st["jobs"].pop(job_id, None)
    state = store.load(root)
    up = state["cs"]["upgrade"]
    if up["state"] in ("running", "rolling_back") and up.get("job") not in running:
        with store.update(root) as st:
            rec = st["cs"]["upgrade"]
            rec.update({"state": "failed", "job": None, "progress": 0})
        out.write("cs: interrupted %s marked failed\n" % up["state"])
    for name, mover in model.movers_sorted(state):
        rec = mover["upgrade"]
        if rec["state"] == "running" and rec.get("job") not in running:
            with store.update(root) as st:
                r = st["movers"][name]["upgrade"]
                if r["step"] == 0:
                    st["movers"][name]["upgrade"] = store.idle_dm_upgrade(
                        st["movers"][name]["version"])
                else:
                    r.update({"state": "failed", "job": None})
            out.write("%s: interrupted upgrade marked failed\n" % name)
        boot = mover["boot"]
        if boot["state"] == "rebooting" and boot.get("job") not in running:
            if boot.get("dead"):
                # the dm_dead fault: that reboot never completes
                with store.update(root) as st:
                    st["movers"][name]["boot"].update({"state": "dead", "job": None})
                out.write("%s: interrupted reboot left down (dm_dead)\n" % name)
                continue
            if boot.get("panic"):
                with store.update(root) as st:
                    st["movers"][name]["boot"].update({"state": "panicked", "job": None})
            else:
                with store.update(root) as st:
                    m = st["movers"][name]
                    m["boot"].update({"state": "ready", "panic": False, "dead": False,
                                      "job": None})
                    if m.get("pending_version"):
                        m["version"] = m["pending_version"]
                        m["pending_version"] = None
            out.write("%s: interrupted reboot finished\n" % name)


def reset(root, wait, out, err):
    os.makedirs(store.state_dir(root), exist_ok=True)
    os.makedirs(store.log_dir(root), exist_ok=True)
    conf = store.ensure_conf(root)
    with store.state_lock(root):
        jobs.stop_all(root)
        store.save(store.default_state(), root)
    _chown_like_dir(root)
    out.write("celerra-lab-reset: starting state written\n")
    failed = push_all(root, conf, wait, out, err)
    return 1 if failed else 0


def sync(root, wait, out, err):
    conf = store.ensure_conf(root)
    store.load(root)
    recover(root, conf, out)
    _chown_like_dir(root)
    failed = push_all(root, conf, wait, out, err)
    return 1 if failed else 0


def main(argv=None, out=None, err=None):
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    err = err or sys.stderr
    do_sync = False
    wait = DEFAULT_WAIT
    i = 0
    while i < len(argv):
        if argv[i] == "--sync":
            do_sync = True
        elif argv[i] == "--wait" and i + 1 < len(argv):
            try:
                wait = float(argv[i + 1])
            except ValueError:
                err.write(USAGE + "\n")
                return 2
            i += 1
        else:
            err.write(USAGE + "\n")
            return 2
        i += 1
    try:
        root = store.nas_db()
        return sync(root, wait, out, err) if do_sync else reset(root, wait, out, err)
    except store.NasDbError as exc:
        err.write("celerra-lab-reset: %s\n" % exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
