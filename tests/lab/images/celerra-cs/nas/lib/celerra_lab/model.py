"""Read-only views of the state: mover readiness, versions, upgrade status, what a mover serves."""

import re

from . import store

REASON_TEXT = {
    0: "reset",
    1: "DOS booted",
    3: "DART loaded",
    4: "DART ready",
    5: "contacted",
    7: "panic",
    10: "primary control station",
}

# A reboot walks these codes over its duration (then 5 once the mover serves again); a reboot
# that ends in a panic walks the shorter list and then shows 7. A mover that never comes back
# (the dm_dead fault) stays at DEAD_REASON from the start of its reboot until it is rebooted again.
REBOOT_WALK = [0, 1, 3, 4]
PANIC_WALK = [0, 1]
DEAD_REASON = 0

CS_UPGRADE_STEPS = ["precheck", "backup_nas_db", "install_packages", "migrate_nas_db",
                    "restart_services"]
CS_ROLLBACK_STEPS = ["restore_nas_db", "reinstall_packages", "restart_services"]
DM_UPGRADE_STEPS = ["install", "reboot"]

FS_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MOVER_RE = re.compile(r"^server_([0-9]+)$")


def mover_reason(mover, now=None):
    boot = mover["boot"]
    if boot["state"] == "ready":
        return 5
    if boot["state"] == "panicked":
        return 7
    if boot["state"] == "dead" or boot.get("dead"):
        return DEAD_REASON
    now = store.now() if now is None else now
    span = boot["duration"] or 1e-9
    frac = max(0.0, (now - boot["started"]) / span)
    walk = PANIC_WALK if boot.get("panic") else REBOOT_WALK
    # A panicking reboot panics at 2/3 of the duration; a normal one ends at 1.
    parts = len(walk) + 1 if boot.get("panic") else len(walk)
    index = min(int(frac * parts), len(walk) - 1)
    return walk[index]


def mover_ready(mover, now=None):
    return mover_reason(mover, now) == 5


def movers_sorted(state):
    return sorted(state["movers"].items(), key=lambda item: item[1]["slot"])


def mover_names(state):
    return [name for name, _mover in movers_sorted(state)]


def mover_by_id(state, mover_id):
    for name, mover in state["movers"].items():
        if mover["id"] == mover_id:
            return name
    return None


def family_of(version):
    """'4.2.16-5' or 'T4.2.16.5' -> '4.2'."""
    text = version[1:] if version.startswith("T") else version
    parts = re.split(r"[.-]", text)
    return ".".join(parts[:2])


def version_parts(version):
    text = version[1:] if version.startswith("T") else version
    return [int(p) for p in re.split(r"[.-]", text) if p.isdigit()]


def resolve_release(spec):
    """A family ('5.1') or a full version ('5.1.23-2', 'T5.1.23.2') -> the release, or None."""
    if not spec or not re.match(r"^T?[0-9]+(\.[0-9]+)*(-[0-9]+)?$", spec):
        return None
    wanted = version_parts(spec)
    for rel in store.RELEASES:
        full = version_parts(rel["cs"])
        if full[:len(wanted)] == wanted:
            return rel
    return None


def cs_busy(state):
    """The CS upgrade or rollback record when it leaves the station inconsistent, else None."""
    up = state["cs"]["upgrade"]
    if up["state"] in ("running", "failed", "rolling_back"):
        return up
    return None


def cs_is_rollback(up):
    """Is this CS record a rollback's (running, finished, failed or interrupted)?"""
    if up.get("kind"):
        return up["kind"] == "rollback"
    return up["state"] in ("rolling_back", "rolled_back") or \
        up.get("step_names") == CS_ROLLBACK_STEPS


def cs_inconsistency(state):
    """The parenthesised reason of error 5005, or None when the station is consistent."""
    up = cs_busy(state)
    if up is None:
        return None
    what = "rollback" if cs_is_rollback(up) else "upgrade"
    verb = "failed at" if up["state"] == "failed" else "in progress at"
    return "%s %s -> %s %s step %d/%d %s" % (what, up["from"], up["to"], verb, up["step"],
                                             up["steps"], up["step_name"])


def dm_upgrade_running(state):
    return any(m["upgrade"]["state"] == "running" for m in state["movers"].values())


def _progress(record, now, bounds):
    """Clock-based progress clamped to the current step's share [lo, hi)."""
    lo, hi = bounds
    span = record["duration"] or 1e-9
    pct = int(100.0 * (now - record["started"]) / span)
    return max(int(lo), min(pct, max(int(lo), int(hi) - 1)))


def cs_status_line(state, now):
    up = state["cs"]["upgrade"]
    st = up["state"]
    if st in ("done", "rolled_back"):
        progress = 100
    elif st in ("running", "rolling_back") and up["steps"]:
        share = 100.0 / up["steps"]
        progress = _progress(up, now, ((up["step"] - 1) * share, up["step"] * share))
    else:
        progress = up.get("progress", 0) if st == "failed" else 0
    return "component=cs state=%s step=%d/%d step_name=%s from=%s to=%s progress=%d" % (
        st, up["step"], up["steps"], up["step_name"], up["from"], up["to"], progress)


def dm_status_line(name, mover, now):
    up = mover["upgrade"]
    st = up["state"]
    if st == "done":
        progress = 100
    elif st == "running" and up["duration"] and up["step"]:
        install_share = 100.0 * up["install"] / up["duration"]
        bounds = (0, install_share) if up["step"] == 1 else (install_share, 100)
        progress = _progress(up, now, bounds)
    else:
        progress = up.get("progress", 0) if st == "failed" else 0
    return "component=%s state=%s step=%d/%d step_name=%s from=%s to=%s progress=%d" % (
        name, st, up["step"], up["steps"], up["step_name"], up["from"], up["to"], progress)


def mount_of(mover, fs=None, path=None):
    for mount in mover["mounts"]:
        if (fs is not None and mount["fs"] == fs) or (path is not None and mount["path"] == path):
            return mount
    return None


def export_of(mover, path):
    for export in mover["exports"]:
        if export["path"] == path:
            return export
    return None


def fs_record(state, name):
    for fs in state["filesystems"]:
        if fs["name"] == name:
            return fs
    return None


def fs_mounted_on(state, fs_name):
    """(mover name, mount) of the mover a file system is mounted on, or (None, None)."""
    for name, mover in movers_sorted(state):
        mount = mount_of(mover, fs=fs_name)
        if mount:
            return name, mount
    return None, None


def system_mounts(mover):
    return [("root_fs_%d" % mover["slot"], "/", "rw"), ("root_fs_common", "/.etc_common", "ro")]


def format_export_options(options):
    parts = []
    for key in ("rw", "ro", "root", "access"):
        if key not in options:
            continue
        value = options[key]
        parts.append(key if value is True else "%s=%s" % (key, ":".join(value)))
    return " ".join(parts)


def served(mover_name, mover):
    """What the mover's agent is told to serve: its mounts and its exports."""
    mounts = [{"fs": m["fs"], "path": m["path"], "mode": m["mode"]} for m in mover["mounts"]]
    exports = []
    for export in mover["exports"]:
        mount = mount_of(mover, path=export["path"])
        exports.append({"path": export["path"], "fs": mount["fs"] if mount else None,
                        "options": export["options"]})
    return {"mover": mover_name, "mounts": mounts, "exports": exports}
