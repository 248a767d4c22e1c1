"""State of the fake Control Station: $NAS_DB/state/state.json, lab.conf and the global lock.

state.json is rewritten atomically (temporary file, fsync, rename) while holding an exclusive
flock on state.lock, so readers never see a half-written file and writers never lose each other's
updates. The global lock (global.lock) is the Celerra's "lock(s)" of error 2201: every change
takes it without blocking; a long upgrade job inherits it from the command that started it and
holds it until the job ends.
"""

import contextlib
import copy
import fcntl
import json
import os
import tempfile
import time

# Releases of the lab (docs/celerra-cli.md, "Names and versions").
RELEASES = [
    {"family": "4.2", "cs": "4.2.16-5", "dm": "T4.2.16.5"},
    {"family": "5.1", "cs": "5.1.23-2", "dm": "T5.1.23.2"},
]

# Plan durations in minutes (docs/lab.md, "Time scale"). dm_reboot_timeout: how long a mover
# upgrade waits, from the start of a mover's reboot, for it to come back before it fails.
PLAN_MINUTES = {
    "cs_upgrade": 25,
    "cs_rollback": 30,
    "dm_upgrade_all": 60,
    "reboot": 4,
    "dm_reboot_timeout": 15,
}

DEFAULT_CONF = {
    "time_scale": "0.01",
    "mover.server_2": "celerra-dm2",
    "mover.server_3": "celerra-dm3",
}

START_EXPORT_HOSTS = ["mta1", "mta2"]


class NasDbError(Exception):
    """NAS_DB is missing or does not hold a state."""


def nas_db():
    value = os.environ.get("NAS_DB", "")
    if not value:
        raise NasDbError("NAS_DB environment not defined")
    return value


def state_dir(root=None):
    return os.path.join(root or nas_db(), "state")


def log_dir(root=None):
    return os.path.join(root or nas_db(), "log")


def state_path(root=None):
    return os.path.join(state_dir(root), "state.json")


def conf_path(root=None):
    return os.path.join(state_dir(root), "lab.conf")


# ---------------------------------------------------------------- lab.conf

def read_conf(root=None):
    """Parse lab.conf (key=value lines, # comments); missing keys take the defaults."""
    conf = dict(DEFAULT_CONF)
    try:
        with open(conf_path(root), encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                conf[key.strip()] = value.strip()
    except FileNotFoundError:
        pass
    return conf


def ensure_conf(root=None):
    """Append the default of every key lab.conf lacks (the file keeps its other lines)."""
    path = conf_path(root)
    present = {}
    text = ""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for line in text.splitlines():
            if "=" in line and not line.strip().startswith("#"):
                present[line.split("=", 1)[0].strip()] = True
    except FileNotFoundError:
        pass
    missing = [k for k in DEFAULT_CONF if k not in present]
    if missing:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join("%s=%s\n" % (k, DEFAULT_CONF[k]) for k in missing)
        atomic_write(path, text)
    return read_conf(root)


def time_scale(conf):
    try:
        scale = float(conf.get("time_scale", DEFAULT_CONF["time_scale"]))
    except ValueError:
        scale = float(DEFAULT_CONF["time_scale"])
    return scale if scale > 0 else float(DEFAULT_CONF["time_scale"])


def duration(conf, plan):
    """Seconds of a plan item (minutes x 60 x time_scale)."""
    return PLAN_MINUTES[plan] * 60.0 * time_scale(conf)


def mover_address(conf, mover):
    """(host, port) of a mover's agent from `mover.<name>=host[:port]`."""
    value = conf.get("mover." + mover, "")
    if not value:
        return None
    host, sep, port = value.partition(":")
    return host, int(port) if sep and port else 5081


# ---------------------------------------------------------------- state.json

def atomic_write(path, text, mode=0o664):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load(root=None):
    path = state_path(root)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise NasDbError("NAS_DB %s holds no state (%s missing; run celerra-lab-reset)"
                         % (root or nas_db(), path)) from None


def save(state, root=None):
    atomic_write(state_path(root), json.dumps(state, indent=1, sort_keys=True) + "\n")


@contextlib.contextmanager
def state_lock(root=None):
    """Exclusive lock for one read-modify-write of state.json (held briefly, blocking)."""
    path = os.path.join(state_dir(root), "state.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def update(root=None):
    """Yield the state for modification; it is saved when the block ends without an exception."""
    with state_lock(root):
        state = load(root)
        yield state
        save(state, root)


def try_global_lock(root=None):
    """Take the global lock without blocking; returns its descriptor or None when it is held.

    The descriptor can be passed to a child process (flock locks belong to the open file), which
    then holds the lock until it exits.
    """
    path = os.path.join(state_dir(root), "global.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def global_lock_free(root=None):
    fd = try_global_lock(root)
    if fd is None:
        return False
    os.close(fd)
    return True


def now():
    return time.time()


# ---------------------------------------------------------------- the starting state

def release_by_family(family):
    for rel in RELEASES:
        if rel["family"] == family:
            return rel
    return None


def idle_cs_upgrade(version):
    return {"state": "idle", "step": 0, "steps": 0, "step_name": "-", "from": version,
            "to": "-", "started": 0, "duration": 0, "step_names": [], "job": None}


def idle_dm_upgrade(version):
    return {"state": "idle", "step": 0, "steps": 0, "step_name": "-", "from": version,
            "to": "-", "started": 0, "duration": 0, "install": 0, "job": None}


def default_state():
    """Everything on 4.2; fs_store1 and fs_store2 mounted and exported on server_2 to mta1:mta2."""
    base = RELEASES[0]
    hosts = list(START_EXPORT_HOSTS)
    movers = {}
    for mover_id, slot in ((1, 2), (2, 3)):
        name = "server_%d" % slot
        movers[name] = {
            "id": mover_id,
            "slot": slot,
            "type": 1,
            "version": base["dm"],
            "pending_version": None,
            "boot": {"state": "ready", "started": 0, "duration": 0, "panic": False,
                     "job": None},
            "upgrade": idle_dm_upgrade(base["dm"]),
            "mounts": [],
            "exports": [],
        }
    for fs in ("fs_store1", "fs_store2"):
        movers["server_2"]["mounts"].append({"fs": fs, "path": "/" + fs, "mode": "rw"})
        movers["server_2"]["exports"].append({
            "path": "/" + fs,
            "options": {"rw": list(hosts), "root": list(hosts), "access": list(hosts)},
        })
    filesystems = [
        {"id": 1, "name": "root_fs_1", "type": 1, "acl": 0, "volume": 10, "root": True,
         "size_total": 256, "size_used": 12},
        {"id": 25, "name": "fs_store1", "type": 1, "acl": 0, "volume": 112, "root": False,
         "size_total": 10240, "size_used": 370},
        {"id": 26, "name": "fs_store2", "type": 1, "acl": 0, "volume": 114, "root": False,
         "size_total": 10240, "size_used": 370},
    ]
    return {
        "schema": 1,
        "cs": {"version": base["cs"], "previous": None, "upgrade": idle_cs_upgrade(base["cs"])},
        "movers": movers,
        "filesystems": filesystems,
        "faults": {},
        "jobs": {},
    }


def copy_state(state):
    return copy.deepcopy(state)
