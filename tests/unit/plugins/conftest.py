# Unit tests of the collection's plugins. They import the collection as
# ansible_collections.mailops.window..., which resolves through <repo>/collections (a symlink back to
# the repository root); that directory is put on sys.path here, computed from this file's place.
from __future__ import annotations

import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
COLLECTIONS = os.path.join(REPO, 'collections')
for path in (COLLECTIONS, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

FIXTURES = os.path.join(HERE, 'fixtures', 'celerra')


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


@pytest.fixture
def sample():
    return fixture_text


@pytest.fixture
def station():
    from celerra_fake import FakeControlStation
    return FakeControlStation()


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get('failed'))


@pytest.fixture
def run_module(monkeypatch, capsys, station):
    """Run a module's main() against the fake Control Station; -> (result dict, log lines)."""
    from ansible.module_utils import _internal, basic
    from ansible.module_utils.common import warnings as warnings_store
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.mailops.window.plugins.module_utils import _celerra_client as client_mod
    from celerra_fake import FakeSession

    sessions = []

    def session_factory(**kwargs):
        session = FakeSession(station, **kwargs)
        sessions.append(session)
        return session

    monkeypatch.setattr(client_mod.CelerraClient, 'session_class', staticmethod(session_factory))
    monkeypatch.setattr(client_mod.CelerraClient, 'default_sleep', staticmethod(station.sleep))
    monkeypatch.setattr(client_mod.CelerraClient, 'default_clock', staticmethod(station.clock))
    logs = []

    def log(self, msg, log_args=None):
        if not msg.startswith('Invoked with '):      # AnsibleModule's own line
            logs.append(msg)
    monkeypatch.setattr(basic.AnsibleModule, 'log', log)

    def run(module, args, check_mode=False, diff=False):
        args = dict(args)
        args.setdefault('host', 'cs.lab.example')
        args.setdefault('password', 'not-a-real-password')
        if check_mode:
            args['_ansible_check_mode'] = True
        if diff:
            args['_ansible_diff'] = True
        del logs[:]
        capsys.readouterr()
        # A module runs in a process of its own on the target: not as controller code (whatever
        # controller code other tests imported, which flips this process-wide switch) and with no
        # warnings or deprecations left over from an earlier run.
        monkeypatch.setattr(_internal, 'is_controller', False)
        monkeypatch.setattr(warnings_store, '_global_warnings', {})
        monkeypatch.setattr(warnings_store, '_global_deprecations', {})
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exc:
                module.main()
        out = capsys.readouterr().out
        result = ModuleResult(json.loads(out))
        assert (exc.value.code != 0) == result.failed, (exc.value.code, result)
        result['_log'] = list(logs)
        result['_sessions'] = list(sessions)
        return result

    return run
