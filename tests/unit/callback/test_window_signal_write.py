"""A signal that kills the run (SIGHUP, SIGTERM with no handler of Ansible's) may land while a report file is
being written: the handler writes the incomplete report, then lets the signal kill the process, and the
interrupted write never gets to clean up its temporary file. The handler removes it first.

Run in a child process, so that the signal really kills it: the write is interrupted between its temporary
file and the rename, and the handler of the callback runs there, as a signal's would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"

CHILD = textwrap.dedent("""
    import os, signal, sys
    from ansible_collections.mailops.window.plugins.callback import window_report as wr

    callback = wr.CallbackModule.__new__(wr.CallbackModule)
    callback._previous_handlers = {}
    callback._stopped = lambda *args, **kwargs: None  # the incomplete report itself is tested elsewhere
    real_chmod = os.chmod

    def chmod_then_signal(path, mode):
        real_chmod(path, mode)
        callback._on_signal(signal.SIGHUP, None)  # the signal lands here, between the file and its rename

    wr.os.chmod = chmod_then_signal
    wr._write_atomically(os.path.join(sys.argv[1], "latest.json"), "{}")
    sys.exit(3)  # not reached: the signal kills the process
""")


def test_a_write_interrupted_by_a_killing_signal_leaves_no_temporary_file(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    done = subprocess.run([sys.executable, "-c", CHILD, str(reports)], capture_output=True, text=True,
                          timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(COLLECTIONS)] + sys.path)))
    assert done.returncode == -signal.SIGHUP, done.stderr
    assert sorted(os.listdir(reports)) == [], "left behind by the interrupted write"
