"""Test setup for the window report callback and the window_* action plugins.

The collection is imported as ``ansible_collections.mailops.window`` from the repository's
``collections`` directory (a link back to the repository root), found relative to this file.

Importing ansible-core's controller code flips a process-wide switch
(``ansible.module_utils._internal.is_controller``) that changes how module code reports warnings.
The callback tests need the controller, the module tests of other directories run in the same
session must not see it: the ``controller_side`` fixture imports the controller only when a test
asks for it, and puts the switch back as it found it after the test.

The window_report callback catches SIGINT, SIGTERM and SIGHUP and writes its report at exit while a run
with a plan has not ended: after each test, every callback the test left that way lets go of them
(``release_window_callbacks``), so the test process keeps its own signal handling and writes nothing at
its exit.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

COLLECTIONS_DIR = Path(__file__).resolve().parents[3] / "collections"

if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))


@pytest.fixture
def controller_side():
    from ansible.module_utils import _internal

    before = _internal.is_controller
    import ansible.plugins.callback  # noqa: F401  pylint: disable=unused-import

    _internal.is_controller = True
    try:
        yield
    finally:
        _internal.is_controller = before


CALLBACK_MODULE = "ansible_collections.mailops.window.plugins.callback.window_report"
_STOP_SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]


@pytest.fixture(autouse=True)
def release_window_callbacks():
    before = dict((signum, signal.getsignal(signum)) for signum in _STOP_SIGNALS)
    yield
    module = sys.modules.get(CALLBACK_MODULE)
    if module is not None:
        for callback in list(module._UNFINISHED):
            callback._disarm()
    for signum, handler in before.items():
        if handler is not None and signal.getsignal(signum) != handler:
            signal.signal(signum, handler)
