"""Entry point of the thin executables in /nas/bin and /nas/sbin (python3 -m celerra_lab.cli).

run("nas_fs", argv) checks the environment (NAS_DB), applies the hang fault, runs the command and
prints a failure as one `Error NNNN: ...` line on stdout.
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
        return commands.COMMANDS[name](ctx, argv)
    except commands.CliError as exc:
        out.write(exc.line + "\n")
        out.flush()
        return exc.exit_code
    finally:
        ctx.release()


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
