"""The nasadmin commands of the fake Control Station (docs/celerra-cli.md).

Every command is a function (ctx, args) -> exit code that writes to ctx.out. Failures raise
CliError, printed by the caller as one `Error NNNN: <subject> : <message>` line on stdout.

Change commands follow one order of checks: arguments (2230), the mover (2100), the global lock
(2201), the station's consistency (5005), the mover's readiness (2102), then the objects. A change
is pushed to the mover's agent first and written to the state only when the agent accepted it.
"""

import os
import re
import time

from . import agent, jobs, model, store

HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$")
IPV4_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
EXPORT_KEYS = ("rw", "ro", "root", "access")


class CliError(Exception):
    def __init__(self, code, subject, message, exit_code=2):
        super().__init__("Error %d: %s : %s" % (code, subject, message))
        self.code = code
        self.line = "Error %d: %s : %s" % (code, subject, message)
        self.exit_code = exit_code


class Context:
    def __init__(self, root, out, conf=None, command=None):
        self.root = root
        self.out = out
        self.conf = conf if conf is not None else store.read_conf(root)
        self.command = command
        self.lock_fd = None

    def write(self, text):
        self.out.write(text)
        self.out.flush()

    def state(self):
        return store.load(self.root)

    def release(self):
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


# ---------------------------------------------------------------- helpers

def usage(cmd, text):
    return CliError(2230, cmd, "missing or extra argument, usage: " + text)


def invalid(cmd, token):
    return CliError(2230, cmd, "invalid option '%s'" % token)


def need_mover(state, name, allow_all=False):
    if allow_all and name == "ALL":
        return None
    if name not in state["movers"]:
        raise CliError(2100, name, "No such data mover")
    return state["movers"][name]


def not_ready(name, mover, now=None):
    return CliError(2102, name, "data mover not ready (reason %d)" % model.mover_reason(mover, now))


def need_ready(name, mover):
    if not model.mover_ready(mover):
        raise not_ready(name, mover)


def take_lock(ctx, state, subject):
    """Take the global lock without waiting (2201 when held, or when the lock_held fault is set)."""
    if state["faults"].get("lock_held"):
        raise CliError(2201, subject, "unable to acquire lock(s), try later")
    fd = store.try_global_lock(ctx.root)
    if fd is None:
        raise CliError(2201, subject, "unable to acquire lock(s), try later")
    ctx.lock_fd = fd


def need_consistent(state, subject):
    reason = model.cs_inconsistency(state)
    if reason is not None:
        raise CliError(5005, subject, "control station software inconsistent (%s)" % reason)


def begin_change(ctx, cmd, mover_name):
    """Common checks of a change aimed at one mover; returns (state, mover)."""
    state = ctx.state()
    mover = need_mover(state, mover_name)
    take_lock(ctx, state, mover_name)
    state = ctx.state()
    need_consistent(state, cmd)
    mover = state["movers"][mover_name]
    need_ready(mover_name, mover)
    return state, mover


def push_and_commit(ctx, mover_name, new_mover):
    """Tell the agent what the mover serves now, then record it; nothing changes on failure."""
    try:
        agent.apply(ctx.conf, mover_name, model.served(mover_name, new_mover))
    except agent.AgentError as exc:
        raise CliError(2102, mover_name, "data mover not responding (%s)" % exc) from None
    with store.update(ctx.root) as state:
        state["movers"][mover_name]["mounts"] = new_mover["mounts"]
        state["movers"][mover_name]["exports"] = new_mover["exports"]


def parse_hosts(value):
    hosts = value.split(":")
    for host in hosts:
        if not host or not HOST_RE.match(host):
            return None
        if IPV4_RE.match(host) and any(int(p) > 255 for p in host.split(".")):
            return None
    return hosts


def parse_export_options(cmd, text):
    """'rw=h1:h2,root=h1,access=h1:h2' -> ordered options; anything unknown is 2230."""
    options = {}
    if not text:
        raise invalid(cmd, text)
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if key not in EXPORT_KEYS:
            raise invalid(cmd, item)
        if not sep:
            if key in ("rw", "ro"):
                options[key] = True
                continue
            raise invalid(cmd, item)
        hosts = parse_hosts(value)
        if hosts is None:
            raise invalid(cmd, item)
        options[key] = hosts
    return {k: options[k] for k in EXPORT_KEYS if k in options}


def valid_path(path):
    return path.startswith("/") and model.FS_NAME_RE.match(path[1:]) is not None


# ---------------------------------------------------------------- read commands

def nas_version(ctx, args):
    if args:
        raise invalid("nas_version", args[0])
    state = ctx.state()
    need_consistent(state, "nas_version")
    ctx.write(state["cs"]["version"] + "\n")
    return 0


def server_version(ctx, args):
    if len(args) != 1:
        raise usage("server_version", "server_version {<movername>|ALL}")
    state = ctx.state()
    need_mover(state, args[0], allow_all=True)
    names = model.mover_names(state) if args[0] == "ALL" else [args[0]]
    code = 0
    for name in names:
        mover = state["movers"][name]
        if model.mover_ready(mover):
            ctx.write("%s : Product: EMC Celerra File Server  Version: %s\n"
                      % (name, mover["version"]))
        else:
            ctx.write("%s : Error 2102: data mover not ready (reason %d)\n"
                      % (name, model.mover_reason(mover)))
            code = 2
    return code


def nas_server(ctx, args):
    state = ctx.state()
    if args in (["-list"], ["-list", "-all"]):
        ctx.write("id      type  acl  slot groupID  state  name\n")
        for name, mover in model.movers_sorted(state):
            ctx.write("%-9s%-5s%-6s%-15s%-5s%s\n"
                      % (mover["id"], mover["type"], 0, mover["slot"], 0, name))
        return 0
    if len(args) == 2 and args[0] == "-info":
        name = args[1]
        mover = need_mover(state, name)
        reason = model.mover_reason(mover)
        if reason == 5:
            actual = "online, ready"
        elif reason == 4:
            actual = "online, active"
        elif reason == 7:
            actual = "offline, panicked"
        else:
            actual = "booting"
        ctx.write("id        = %d\nname      = %s\nacl       = 0\ntype      = %s\n"
                  "slot      = %d\nmember_of =\nstandby   =\nstatus    :\n"
                  " defined = enabled\n actual = %s\n"
                  % (mover["id"], name, "nas" if mover["type"] == 1 else "standby",
                     mover["slot"], actual))
        return 0
    for arg in args:
        if arg.startswith("-") and arg not in ("-list", "-info", "-all"):
            raise invalid("nas_server", arg)
    raise usage("nas_server", "nas_server {-list [-all] | -info <movername>}")


def nas_fs(ctx, args):
    state = ctx.state()
    if args in (["-list"], ["-list", "-all"]):
        ctx.write("id      inuse type acl   volume    name                server\n")
        for fs in sorted(state["filesystems"], key=lambda f: f["id"]):
            mover_name = model.fs_mounted_on(state, fs["name"])[0]
            server = str(state["movers"][mover_name]["id"]) if mover_name else ""
            line = "%-10s%-5s%-4s%-6s%-10s%-20s%s" % (
                fs["id"], "y" if mover_name else "n", fs["type"], fs["acl"], fs["volume"],
                fs["name"], server)
            ctx.write(line.rstrip() + "\n")
        return 0
    if len(args) == 2 and args[0] == "-info":
        target = args[1]
        fs = None
        if target.startswith("id="):
            for cand in state["filesystems"]:
                if str(cand["id"]) == target[3:]:
                    fs = cand
        else:
            fs = model.fs_record(state, target)
        if fs is None:
            raise CliError(2211, target, "no such file system")
        mover_name, mount = model.fs_mounted_on(state, fs["name"])
        rw = mover_name if mount and mount["mode"] == "rw" else ""
        ro = mover_name if mount and mount["mode"] == "ro" else ""
        total, used = fs["size_total"], fs["size_used"]
        lines = [
            "id        = %d" % fs["id"],
            "name      = %s" % fs["name"],
            "acl       = %d" % fs["acl"],
            "in_use    = %s" % ("True" if mover_name else "False"),
            "type      = uxfs",
            "worm      = off",
            "volume    = v%d" % fs["volume"],
            ("rw_servers= %s" % rw).rstrip(),
            ("ro_servers= %s" % ro).rstrip(),
            "size      = total = %d avail = %d used = %d ( %d%% ) (sizes in MB)"
            % (total, total - used, used, used * 100 // total),
        ]
        ctx.write("\n".join(lines) + "\n")
        return 0
    for arg in args:
        if arg.startswith("-") and arg not in ("-list", "-info", "-all"):
            raise invalid("nas_fs", arg)
    raise usage("nas_fs", "nas_fs {-list [-all] | -info {<fs_name>|id=<id>}}")


def getreason(ctx, args):
    if args:
        raise invalid("getreason", args[0])
    state = ctx.state()
    ctx.write("%2d - slot_0 %s\n" % (10, model.REASON_TEXT[10]))
    for _name, mover in model.movers_sorted(state):
        code = model.mover_reason(mover)
        ctx.write("%2d - slot_%d %s\n" % (code, mover["slot"], model.REASON_TEXT[code]))
    return 0


def _mount_listing(ctx, state, names):
    for i, name in enumerate(names):
        mover = state["movers"][name]
        need_ready(name, mover)
        if i:
            ctx.write("\n")
        ctx.write("%s :\n" % name)
        for fs, path, mode in model.system_mounts(mover):
            ctx.write("%s on %s uxfs,perm,%s\n" % (fs, path, mode))
        for mount in mover["mounts"]:
            ctx.write("%s on %s uxfs,perm,%s\n" % (mount["fs"], mount["path"], mount["mode"]))
    return 0


def _export_listing(ctx, state, names):
    for i, name in enumerate(names):
        mover = state["movers"][name]
        need_ready(name, mover)
        if i:
            ctx.write("\n")
        ctx.write("%s :\n" % name)
        for export in mover["exports"]:
            opts = model.format_export_options(export["options"])
            ctx.write(("export \"%s\" %s" % (export["path"], opts)).rstrip() + "\n")
    return 0


def _names(state, target):
    return model.mover_names(state) if target == "ALL" else [target]


# ---------------------------------------------------------------- change commands

MOUNT_USAGE = "server_mount {<movername>|ALL} | server_mount <movername> [-option {rw|ro}] " \
              "<fs_name> [<mount_point>]"


def server_mount(ctx, args):
    cmd = "server_mount"
    if not args:
        raise usage(cmd, MOUNT_USAGE)
    mover_name, rest = args[0], args[1:]
    if not rest:
        state = ctx.state()
        need_mover(state, mover_name, allow_all=True)
        return _mount_listing(ctx, state, _names(state, mover_name))
    mode = "rw"
    positional = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "-option":
            if i + 1 >= len(rest):
                raise usage(cmd, MOUNT_USAGE)
            if rest[i + 1] not in ("rw", "ro"):
                raise invalid(cmd, rest[i + 1])
            mode = rest[i + 1]
            i += 2
            continue
        if arg.startswith("-"):
            raise invalid(cmd, arg)
        positional.append(arg)
        i += 1
    if len(positional) not in (1, 2) or mover_name == "ALL":
        raise usage(cmd, MOUNT_USAGE)
    fs_name = positional[0]
    path = positional[1] if len(positional) == 2 else "/" + fs_name
    state, mover = begin_change(ctx, cmd, mover_name)
    fs = model.fs_record(state, fs_name)
    if fs is None:
        raise CliError(2211, fs_name, "no such file system")
    if fs["root"]:
        raise CliError(2230, cmd, "%s is a root file system" % fs_name)
    if not valid_path(path):
        raise CliError(2230, cmd, "invalid mount point '%s'" % path)
    on, mount = model.fs_mounted_on(state, fs_name)
    if on is not None and on != mover_name:
        raise CliError(2212, fs_name, "file system is mounted on %s" % on)
    if on == mover_name:
        if mount["path"] == path and mount["mode"] == mode:
            ctx.write("%s : done\n" % mover_name)
            return 0
        raise CliError(2212, fs_name, "file system is mounted on %s at %s (%s)"
                       % (on, mount["path"], mount["mode"]))
    if path in ("/", "/.etc_common"):
        raise CliError(2215, mover_name, "%s : mount point in use by a root file system" % path)
    other = model.mount_of(mover, path=path)
    if other is not None:
        raise CliError(2215, mover_name, "%s : mount point in use by %s" % (path, other["fs"]))
    new_mover = store.copy_state(mover)
    new_mover["mounts"].append({"fs": fs_name, "path": path, "mode": mode})
    push_and_commit(ctx, mover_name, new_mover)
    ctx.write("%s : done\n" % mover_name)
    return 0


UMOUNT_USAGE = "server_umount <movername> [-perm|-temp] {<fs_name>|<mount_point>}"


def server_umount(ctx, args):
    cmd = "server_umount"
    positional = []
    for arg in args:
        if arg in ("-perm", "-temp"):
            continue
        if arg.startswith("-"):
            raise invalid(cmd, arg)
        positional.append(arg)
    if len(positional) != 2:
        raise usage(cmd, UMOUNT_USAGE)
    mover_name, target = positional
    state, mover = begin_change(ctx, cmd, mover_name)
    if target.startswith("/"):
        mount = model.mount_of(mover, path=target)
        if mount is None:
            raise CliError(2213, mover_name, "%s is not mounted" % target)
    else:
        if model.fs_record(state, target) is None:
            raise CliError(2211, target, "no such file system")
        mount = model.mount_of(mover, fs=target)
        if mount is None:
            raise CliError(2213, mover_name, "%s is not mounted" % target)
    if model.export_of(mover, mount["path"]) is not None:
        raise CliError(2214, mover_name, "%s is exported, unexport first" % mount["fs"])
    new_mover = store.copy_state(mover)
    new_mover["mounts"] = [m for m in new_mover["mounts"] if m["path"] != mount["path"]]
    push_and_commit(ctx, mover_name, new_mover)
    ctx.write("%s : done\n" % mover_name)
    return 0


EXPORT_USAGE = ("server_export {<movername>|ALL} [-Protocol nfs] -list [-all] | "
                "server_export <movername> [-Protocol nfs] [-option <options>] <pathname> | "
                "server_export <movername> [-Protocol nfs] -unexport [-perm] <pathname>")


def server_export(ctx, args):
    cmd = "server_export"
    if not args:
        raise usage(cmd, EXPORT_USAGE)
    mover_name, rest = args[0], args[1:]
    listing = unexport = False
    options_text = None
    positional = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-Protocol", "-option", "-comment"):
            if i + 1 >= len(rest):
                raise usage(cmd, EXPORT_USAGE)
            value = rest[i + 1]
            if arg == "-Protocol" and value != "nfs":
                raise invalid(cmd, "%s %s" % (arg, value))
            if arg == "-option":
                options_text = value
            i += 2
            continue
        if arg == "-list":
            listing = True
        elif arg == "-unexport":
            unexport = True
        elif arg in ("-perm", "-all"):
            pass
        elif arg.startswith("-"):
            raise invalid(cmd, arg)
        else:
            positional.append(arg)
        i += 1
    if listing:
        if positional or unexport or options_text is not None:
            raise usage(cmd, EXPORT_USAGE)
        state = ctx.state()
        need_mover(state, mover_name, allow_all=True)
        return _export_listing(ctx, state, _names(state, mover_name))
    if len(positional) != 1 or mover_name == "ALL" or (unexport and options_text is not None):
        raise usage(cmd, EXPORT_USAGE)
    path = positional[0]
    options = parse_export_options(cmd, options_text) if options_text is not None else {}
    state, mover = begin_change(ctx, cmd, mover_name)
    new_mover = store.copy_state(mover)
    if unexport:
        if model.export_of(mover, path) is None:
            raise CliError(2221, mover_name, "%s : not exported" % path)
        new_mover["exports"] = [e for e in new_mover["exports"] if e["path"] != path]
    else:
        if not valid_path(path) or model.mount_of(mover, path=path) is None:
            raise CliError(2220, mover_name, "%s : No such file or directory" % path)
        existing = model.export_of(new_mover, path)
        if existing is not None:
            existing["options"] = options
        else:
            new_mover["exports"].append({"path": path, "options": options})
    push_and_commit(ctx, mover_name, new_mover)
    ctx.write("%s : done\n" % mover_name)
    return 0


CPU_USAGE = "server_cpu <movername> -reboot [-monitor] now"


def server_cpu(ctx, args):
    cmd = "server_cpu"
    if not args:
        raise usage(cmd, CPU_USAGE)
    mover_name, rest = args[0], args[1:]
    reboot = monitor = False
    when = None
    for arg in rest:
        if arg == "-reboot":
            reboot = True
        elif arg == "-monitor":
            monitor = True
        elif arg.startswith("-"):
            raise invalid(cmd, arg)
        elif when is None:
            when = arg
        else:
            raise usage(cmd, CPU_USAGE)
    if not reboot or when is None or mover_name == "ALL":
        raise usage(cmd, CPU_USAGE)
    if when != "now":
        raise invalid(cmd, when)
    state = ctx.state()
    mover = need_mover(state, mover_name)
    take_lock(ctx, state, mover_name)
    state = ctx.state()
    need_consistent(state, cmd)
    mover = state["movers"][mover_name]
    if mover["boot"]["state"] == "rebooting":
        raise not_ready(mover_name, mover)
    try:
        agent.down(ctx.conf, mover_name)
    except agent.AgentError as exc:
        raise CliError(2102, mover_name, "data mover not responding (%s)" % exc) from None
    span = store.duration(ctx.conf, "reboot")
    with store.update(ctx.root) as state:
        panic = jobs.start_reboot(state, mover_name, span)
        job_id = jobs.new_job(state, "reboot", mover=mover_name)
        state["movers"][mover_name]["boot"]["job"] = job_id
    jobs.spawn(ctx.root, job_id)
    ctx.release()
    if not monitor:
        ctx.write("%s : reboot in progress\n" % mover_name)
        return 0
    return monitor_reboot(ctx, mover_name, span, panic)


def monitor_reboot(ctx, mover_name, span, panic):
    """Print one reason code per poll until the mover is back (5) or has panicked (7)."""
    interval = max(span / 8.0, 0.02)
    deadline = time.time() + span + 300.0
    ctx.write("%s : reboot in progress " % mover_name)
    first = True
    while True:
        state = ctx.state()
        mover = state["movers"][mover_name]
        code = model.mover_reason(mover)
        sep = "" if first else "."
        first = False
        if code == 5:
            ctx.write(sep + "done\n")
            return 0
        ctx.write(sep + str(code))
        if code == 7:
            ctx.write("\n")
            raise CliError(2102, mover_name, "data mover panicked (reason 7)")
        if time.time() > deadline:
            ctx.write("\n")
            raise not_ready(mover_name, mover)
        time.sleep(interval)


# ---------------------------------------------------------------- nas_checkup

def nas_checkup(ctx, args):
    if args:
        raise invalid("nas_checkup", args[0])
    state = ctx.state()
    cs_version = state["cs"]["version"]
    up = model.cs_busy(state)
    inconsistent = up is not None
    stamp = time.strftime("%y%m%d-%H%M%S", time.localtime())
    log_name = "checkup-run.%s.log" % stamp
    cs_family = model.family_of(cs_version)
    movers = [mover for _name, mover in model.movers_sorted(state)]
    checks = [
        ("Control Station", "Checking if NAS_DB is consistent", "Pass"),
        ("Control Station", "Checking software version consistency",
         "Fail" if inconsistent else "Pass"),
        ("Data Movers    ", "Checking status",
         "Fail" if any(not model.mover_ready(m) for m in movers) else "Pass"),
        ("Data Movers    ", "Checking version consistency",
         "Warning" if any(model.family_of(m["version"]) != cs_family for m in movers)
         else "Pass"),
        ("Storage System ", "Checking disk health", "Pass"),
    ]
    lines = [
        "Check Version:  %s" % cs_version.replace("-", "."),
        "Check Command:  /nas/bin/nas_checkup",
        "Check Log    :  /nas/log/%s" % log_name,
        "",
        "-" * 37 + "Checks" + "-" * 37,
    ]
    for area, text, result in checks:
        label = "%s: %s" % (area, text)
        lines.append(label.ljust(75, ".") + " " + result)
    lines.append("-" * 80)
    output = "\n".join(lines) + "\n"
    try:
        os.makedirs(store.log_dir(ctx.root), exist_ok=True)
        with open(os.path.join(store.log_dir(ctx.root), log_name), "w", encoding="utf-8") as fh:
            fh.write(output)
    except OSError:
        pass
    ctx.write(output)
    results = [check[2] for check in checks]
    if "Fail" in results:
        return 2
    return 1 if "Warning" in results else 0


# ---------------------------------------------------------------- nas_upgrade

UPGRADE_USAGE = ("nas_upgrade -cs -to <version> | nas_upgrade -cs -rollback | "
                 "nas_upgrade -dm {ALL|<movername>} -to <version> | nas_upgrade -status")


def nas_upgrade(ctx, args):
    cmd = "nas_upgrade"
    if args == ["-status"]:
        state = ctx.state()
        now = store.now()
        ctx.write(model.cs_status_line(state, now) + "\n")
        for name, mover in model.movers_sorted(state):
            ctx.write(model.dm_status_line(name, mover, now) + "\n")
        return 0
    for arg in args:
        if arg.startswith("-") and arg not in ("-cs", "-dm", "-to", "-rollback", "-status"):
            raise invalid(cmd, arg)
    if args == ["-cs", "-rollback"]:
        return cs_rollback(ctx)
    if len(args) == 3 and args[0] == "-cs" and args[1] == "-to":
        return cs_upgrade(ctx, args[2])
    if len(args) == 4 and args[0] == "-dm" and args[2] == "-to":
        return dm_upgrade(ctx, args[1], args[3])
    raise usage(cmd, UPGRADE_USAGE)


def _already_running(state):
    up = state["cs"]["upgrade"]
    if up["state"] in ("running", "rolling_back") or model.dm_upgrade_running(state):
        return True
    return False


def cs_upgrade(ctx, target):
    cmd = "nas_upgrade"
    state = ctx.state()
    if _already_running(state):
        raise CliError(5011, cmd, "an upgrade is already running")
    need_consistent(state, cmd)
    rel = model.resolve_release(target)
    if rel is None or target.startswith("T"):
        raise CliError(5011, cmd, "version unknown '%s'" % target)
    current = state["cs"]["version"]
    if rel["cs"] == current:
        ctx.write("nas_upgrade: already at %s\n" % current)
        return 0
    if model.version_parts(rel["cs"]) < model.version_parts(current):
        raise CliError(5011, cmd, "%s is older than %s, use -cs -rollback" % (rel["cs"], current))
    take_lock(ctx, state, cmd)
    span = store.duration(ctx.conf, "cs_upgrade")
    with store.update(ctx.root) as state:
        if _already_running(state):
            raise CliError(5011, cmd, "an upgrade is already running")
        fail_at = state["faults"].pop("cs_upgrade_fail", None)
        job_id = jobs.new_job(state, "cs_upgrade")
        state["cs"]["previous"] = current
        state["cs"]["upgrade"] = {
            "state": "running", "step": 1, "steps": len(model.CS_UPGRADE_STEPS),
            "step_name": model.CS_UPGRADE_STEPS[0], "from": current, "to": rel["cs"],
            "started": store.now(), "duration": span, "step_names": model.CS_UPGRADE_STEPS,
            "fail_at": fail_at, "job": job_id, "kind": "upgrade",
        }
    jobs.spawn(ctx.root, job_id, lock_fd=ctx.lock_fd)
    ctx.release()
    ctx.write("nas_upgrade: control station upgrade %s -> %s started\n" % (current, rel["cs"]))
    return 0


def cs_rollback(ctx):
    cmd = "nas_upgrade"
    state = ctx.state()
    previous = state["cs"].get("previous")
    if not previous:
        raise CliError(5011, cmd, "nothing to roll back")
    if model.dm_upgrade_running(state) or state["cs"]["upgrade"]["state"] == "rolling_back":
        raise CliError(5011, cmd, "an upgrade is already running")
    if state["faults"].get("lock_held"):
        raise CliError(2201, cmd, "unable to acquire lock(s), try later")
    up = state["cs"]["upgrade"]
    if up["state"] == "running":
        jobs.stop(ctx.root, up.get("job"))
    take_lock(ctx, state, cmd)
    span = store.duration(ctx.conf, "cs_rollback")
    with store.update(ctx.root) as state:
        up = state["cs"]["upgrade"]
        if model.cs_is_rollback(up) and up["state"] == "failed":
            source = up["from"]  # a failed (or interrupted) rollback is run again
        elif up["state"] in ("running", "failed", "done") and up["to"] != "-":
            source = up["to"]
        else:
            source = state["cs"]["version"]
        fail_at = state["faults"].pop("cs_rollback_fail", None)
        job_id = jobs.new_job(state, "cs_rollback")
        state["cs"]["upgrade"] = {
            "state": "rolling_back", "step": 1, "steps": len(model.CS_ROLLBACK_STEPS),
            "step_name": model.CS_ROLLBACK_STEPS[0], "from": source, "to": previous,
            "started": store.now(), "duration": span, "step_names": model.CS_ROLLBACK_STEPS,
            "fail_at": fail_at, "job": job_id, "kind": "rollback",
        }
    jobs.spawn(ctx.root, job_id, lock_fd=ctx.lock_fd)
    ctx.release()
    ctx.write("nas_upgrade: control station rollback %s -> %s started\n" % (source, previous))
    return 0


def dm_upgrade(ctx, target_mover, target):
    cmd = "nas_upgrade"
    state = ctx.state()
    need_mover(state, target_mover, allow_all=True)
    if _already_running(state):
        raise CliError(5011, cmd, "an upgrade is already running")
    need_consistent(state, cmd)
    rel = model.resolve_release(target)
    if rel is None:
        raise CliError(5011, cmd, "version unknown '%s'" % target)
    cs_version = state["cs"]["version"]
    if model.version_parts(rel["cs"])[:2] > model.version_parts(cs_version)[:2]:
        raise CliError(5010, cmd, "data mover code %s is newer than the control station's %s"
                       % (rel["dm"], cs_version))
    names = _names(state, target_mover)
    todo = [n for n in names if state["movers"][n]["version"] != rel["dm"]]
    if not todo:
        ctx.write("nas_upgrade: already at %s\n" % rel["dm"])
        return 0
    for name in todo:
        need_ready(name, state["movers"][name])
    take_lock(ctx, state, cmd)
    per_mover = store.duration(ctx.conf, "dm_upgrade_all") / len(state["movers"])
    reboot = store.duration(ctx.conf, "reboot")
    with store.update(ctx.root) as state:
        job_id = jobs.new_job(state, "dm_upgrade", movers=todo, to=rel["dm"])
        for name in todo:
            mover = state["movers"][name]
            mover["upgrade"] = {
                "state": "running", "step": 0, "steps": len(model.DM_UPGRADE_STEPS),
                "step_name": "-", "from": mover["version"], "to": rel["dm"], "started": 0,
                "duration": per_mover, "install": max(per_mover - reboot, 0.0), "job": job_id,
            }
        # Movers wait their turn as running at step 0/2 until the job reaches them.
    jobs.spawn(ctx.root, job_id, lock_fd=ctx.lock_fd)
    ctx.release()
    first = state["movers"][todo[0]]["upgrade"]["from"]
    ctx.write("nas_upgrade: data mover upgrade %s -> %s started on %s\n"
              % (first, rel["dm"], " ".join(todo)))
    return 0


COMMANDS = {
    "nas_version": nas_version,
    "nas_server": nas_server,
    "nas_fs": nas_fs,
    "nas_checkup": nas_checkup,
    "server_version": server_version,
    "server_mount": server_mount,
    "server_umount": server_umount,
    "server_export": server_export,
    "server_cpu": server_cpu,
    "getreason": getreason,
    "nas_upgrade": nas_upgrade,
}
