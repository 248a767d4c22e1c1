"""Fixtures of the mail probe tests: the collection on sys.path, fake MTAs, a module runner."""

import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils import _internal

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible.module_utils.testing import patch_module_args  # noqa: E402  pylint: disable=wrong-import-position

from .fakemail import FakeMta, MailStore, identity  # noqa: E402  pylint: disable=wrong-import-position

PASSWORDS = {"u1": "Pw-of-u1-7c31", "v1": "Pw-of-v1-55e0"}


@pytest.fixture
def store():
    return MailStore(PASSWORDS)


@pytest.fixture
def mtas():
    """A factory of fake MTAs, all stopped at the end of the test."""
    started = []

    def make(name, mail_store, renderer=identity, **options):
        mta = FakeMta(name, mail_store, renderer=renderer, **options)
        started.append(mta)
        return mta

    yield make
    for mta in started:
        mta.stop()


@pytest.fixture
def run_module(capsys):
    """Run a module's main() in process; returns its JSON result with ``rc`` added."""

    def run(module, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        capsys.readouterr()
        # A module runs in its own process on the target, never in the controller: undo the
        # process-wide flag that importing controller code (in other tests) sets.
        was_controller = _internal.is_controller
        _internal.is_controller = False
        try:
            with patch_module_args(args):
                with pytest.raises(SystemExit) as exited:
                    module.main()
        finally:
            _internal.is_controller = was_controller
        out = capsys.readouterr().out
        result = json.loads(out)
        result["rc"] = exited.value.code
        result["raw_output"] = out
        return result

    return run
