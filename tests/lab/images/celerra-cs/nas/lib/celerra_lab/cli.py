"""Entry point of the thin executables in /nas/bin and /nas/sbin (python3 -m celerra_lab.cli).

run("nas_fs", argv) checks the environment (NAS_DB), applies the hang and dm_no_answer faults, runs the
command and prints a failure as one `Error NNNN: ...` line on stdout.
"""

import sys
import time

from . import commands, store

HANG_SECONDS = 3600


def run(name, argv=None, out=None, err=None):
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        root = store.nas_db()
        state = store.load(root)
    except store.NasDbError as exc:
        err.write("%s: %s\n" % (name, exc))
        return 1
    if name in state.get("faults", {}).get("hang", []):
        time.sleep(HANG_SECONDS)
    ctx = commands.Context(root, out, command=name)
    try:
        if is_change(argv) and "%s:%s" % (name, argv[0]) in state.get("faults", {}).get("dm_no_answer", []):
            no_answer(root, ctx.conf, name, argv[0])
        return commands.COMMANDS[name](ctx, argv)
    except commands.CliError as exc:
        out.write(exc.line + "\n")
        out.flush()
        return exc.exit_code
    finally:
        ctx.release()


def is_change(argv):
    """Whether a server_* command line changes something: a listing is `<mover>` alone or has -list."""
    return len(argv) > 1 and "-list" not in argv


def no_answer(root, conf, name, mover):
    """Consume one dm_no_answer fault for `name` on `mover` and fail as when the mover's agent does not answer."""
    target = "%s:%s" % (name, mover)
    with store.update(root) as state:
        pending = state["faults"].get("dm_no_answer", [])
        if target in pending:
            pending.remove(target)
        if not pending:
            state["faults"].pop("dm_no_answer", None)
    address = store.mover_address(conf, mover)
    where = "%s:%d" % address if address else mover
    raise commands.CliError(2102, mover, "data mover not responding (%s: Connection refused)" % where)


def main(argv=None):
    """`python3 -m celerra_lab.cli <command> <args...>` (what the thin executables run)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in commands.COMMANDS:
        sys.stderr.write("celerra_lab.cli: not a Control Station command: %s\n"
                         % (argv[0] if argv else "(none)"))
        return 127
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
