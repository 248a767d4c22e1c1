"""Test setup for the window report callback and the window_* action plugins.

The collection is imported as ``ansible_collections.mailops.window`` from the repository's
``collections`` directory (a link back to the repository root), found relative to this file.

Importing ansible-core's controller code flips a process-wide switch
(``ansible.module_utils._internal.is_controller``) that changes how module code reports warnings.
The callback tests need the controller, the module tests of other directories run in the same
session must not see it: the ``controller_side`` fixture imports the controller only when a test
asks for it, and puts the switch back as it found it after the test.
"""

from __future__ import annotations

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
