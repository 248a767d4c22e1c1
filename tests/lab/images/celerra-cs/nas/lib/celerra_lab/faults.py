"""celerra-lab-fault: inject, list and clear the lab's faults (docs/celerra-cli.md, root only).

  celerra-lab-fault set cs_upgrade_fail <step 1-5>
  celerra-lab-fault set cs_rollback_fail <step 1-3>
  celerra-lab-fault set dm_panic <server_N>
  celerra-lab-fault set dm_dead <server_N>
  celerra-lab-fault set hang <command>
  celerra-lab-fault set dm_no_answer <command>:<server_N>
  celerra-lab-fault set lock_held 1
  celerra-lab-fault clear [<name>]
  celerra-lab-fault list

Faults live in the state (state["faults"]) and persist until cleared or consumed: cs_upgrade_fail by
the next CS upgrade, cs_rollback_fail by the next CS rollback, dm_panic by that mover's next reboot.
dm_dead is never consumed: every reboot of that mover that starts while it is set never completes
(the mover stays down, reason 0, serving nothing); once it is cleared, the next reboot of the mover
brings it back. dm_no_answer is consumed by the next change (not a listing) that <command> makes on
<server_N> (its first argument), which fails as when the mover's agent does not answer and changes
nothing. `list` prints one
`<name> <value>` line per active fault (several lines for dm_panic, dm_dead, hang and dm_no_answer when
they name several targets).
"""

import sys

from . import commands, model, store

NAMES = ("cs_upgrade_fail", "cs_rollback_fail", "dm_panic", "dm_dead", "dm_no_answer", "hang", "lock_held")
USAGE = ("usage: celerra-lab-fault set {cs_upgrade_fail <step 1-%d> | cs_rollback_fail <step 1-%d> | "
         "dm_panic <server_N> | dm_dead <server_N> | dm_no_answer <command>:<server_N> | hang <command> | "
         "lock_held 1} | "
         "clear [<name>] | list" % (len(model.CS_UPGRADE_STEPS), len(model.CS_ROLLBACK_STEPS)))
# The step faults and the steps they count.
STEP_FAULTS = {"cs_upgrade_fail": model.CS_UPGRADE_STEPS,
               "cs_rollback_fail": model.CS_ROLLBACK_STEPS}
# The faults aimed at data movers (one list of movers each).
MOVER_FAULTS = ("dm_panic", "dm_dead")


class FaultError(Exception):
    pass


def set_fault(state, name, value):
    faults = state["faults"]
    if name in STEP_FAULTS:
        count = len(STEP_FAULTS[name])
        if value not in [str(step) for step in range(1, count + 1)]:
            raise FaultError("%s takes a step number 1-%d, not '%s'" % (name, count, value))
        faults[name] = int(value)
    elif name in MOVER_FAULTS:
        if value not in state["movers"]:
            raise FaultError("%s: no such data mover '%s'" % (name, value))
        targets = faults.get(name, [])
        if value not in targets:
            targets.append(value)
        faults[name] = targets
    elif name == "dm_no_answer":
        command, sep, mover = value.partition(":")
        if not sep or command not in commands.COMMANDS or not command.startswith("server_"):
            raise FaultError("dm_no_answer takes <command>:<server_N> with a server_* command, not '%s'" % value)
        if mover not in state["movers"]:
            raise FaultError("dm_no_answer: no such data mover '%s'" % mover)
        targets = faults.get(name, [])
        targets.append(value)
        faults[name] = targets
    elif name == "hang":
        if value not in commands.COMMANDS:
            raise FaultError("hang: unknown command '%s' (one of: %s)"
                             % (value, " ".join(sorted(commands.COMMANDS))))
        targets = faults.get(name, [])
        if value not in targets:
            targets.append(value)
        faults[name] = targets
    elif name == "lock_held":
        if value != "1":
            raise FaultError("lock_held takes the value 1 (clear it with 'clear lock_held')")
        faults[name] = 1
    else:
        raise FaultError("unknown fault '%s' (one of: %s)" % (name, " ".join(NAMES)))


def list_lines(state):
    lines = []
    for name in NAMES:
        value = state["faults"].get(name)
        if value is None:
            continue
        for item in (value if isinstance(value, list) else [value]):
            lines.append("%s %s" % (name, item))
    return lines


def main(argv=None, out=None, err=None):
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        root = store.nas_db()
        if argv[:1] == ["list"] and len(argv) == 1:
            for line in list_lines(store.load(root)):
                out.write(line + "\n")
            return 0
        if argv[:1] == ["set"] and len(argv) == 3:
            with store.update(root) as state:
                set_fault(state, argv[1], argv[2])
            return 0
        if argv[:1] == ["clear"] and len(argv) in (1, 2):
            with store.update(root) as state:
                if len(argv) == 1:
                    state["faults"] = {}
                elif argv[1] in NAMES:
                    state["faults"].pop(argv[1], None)
                else:
                    raise FaultError("unknown fault '%s' (one of: %s)"
                                     % (argv[1], " ".join(NAMES)))
            return 0
        err.write(USAGE + "\n")
        return 2
    except (FaultError, store.NasDbError) as exc:
        err.write("celerra-lab-fault: %s\n" % exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
