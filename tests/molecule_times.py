"""Pass molecule's output through unchanged, then say how long each scenario took.

    molecule test --all ... 2>&1 | python tests/molecule_times.py

Molecule announces each action of a scenario ("<scenario> ➜ <action>: Executing"); an action lasts until
the next announcement or the end of the output. At the end this prints every scenario's seconds (the sum
of its actions), longest first, and the total, so that the suite's time can be read off one run.
"""

import re
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ACTION = re.compile(r"INFO\s+(\S+) (?:\u279c|->) (\S+): Executing\b")


def scenario_seconds(lines, clock=time.monotonic, echo=None):
    """Seconds per scenario, from its announced actions; echo(line) sees every line as it comes."""
    seconds = {}
    current = None
    started = clock()
    begun = started
    for line in lines:
        if echo is not None:
            echo(line)
        match = ACTION.search(ANSI.sub("", line))
        if match:
            now = clock()
            if current is not None:
                seconds[current] = seconds.get(current, 0.0) + now - begun
            current, begun = match.group(1), now
    now = clock()
    if current is not None:
        seconds[current] = seconds.get(current, 0.0) + now - begun
    return seconds, now - started


def summary(seconds, total):
    rows = ["molecule: seconds per scenario (longest first)"]
    for name, value in sorted(seconds.items(), key=lambda item: (-item[1], item[0])):
        rows.append("  %7.1f  %s" % (value, name))
    rows.append("  %7.1f  in all (%d scenarios)" % (total, len(seconds)))
    return "\n".join(rows)


def main():
    def echo(line):
        sys.stdout.write(line)
        sys.stdout.flush()

    sys.stdout.reconfigure(errors="replace")
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", newline="", closefd=False)
    seconds, total = scenario_seconds(stdin, echo=echo)
    print(summary(seconds, total))


if __name__ == "__main__":
    main()
