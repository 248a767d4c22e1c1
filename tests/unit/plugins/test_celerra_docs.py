# The modules' documentation renders with ansible-doc and matches their argument specs; the action
# group works from a playbook: module_defaults for group/mailops.window.celerra reach every module
# (run with ansible-playbook against the loopback SSH Control Station).
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.mailops.window.plugins.module_utils._celerra_module import COMMON_ARGUMENT_SPEC
from ansible_collections.mailops.window.plugins.modules import celerra_filesystem, celerra_info, celerra_upgrade
from celerra_loopback import LoopbackControlStation
from ssh_keys import public_line

MODULES = {'celerra_info': celerra_info, 'celerra_upgrade': celerra_upgrade, 'celerra_filesystem': celerra_filesystem}
BIN = os.path.dirname(sys.executable)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def ansible_env(tmp_path):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'),
               ANSIBLE_HOME=str(tmp_path / 'home'), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return env


@pytest.fixture(scope='module')
def docs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('doc')
    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), '--json'] + ['mailops.window.%s' % m for m in MODULES],
                         capture_output=True, text=True, env=ansible_env(tmp), cwd=REPO, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert '[WARNING]' not in out.stderr and 'ERROR' not in out.stderr, out.stderr
    return json.loads(out.stdout)


def spec_of(module, monkeypatch):
    """The merged argument spec a module hands to AnsibleModule (captured, the module is not run)."""
    from ansible_collections.mailops.window.plugins.module_utils import _celerra_module

    captured = {}

    class Stop(Exception):
        pass

    def fake_init(self, argument_spec, supports_check_mode=True, **kwargs):
        captured['spec'] = _celerra_module.merge_argument_spec(argument_spec)
        captured['check_mode'] = supports_check_mode
        raise Stop()
    monkeypatch.setattr(_celerra_module.CelerraModule, '__init__', fake_init)
    with pytest.raises(Stop):
        module.main()
    return captured


@pytest.mark.parametrize('name', list(MODULES))
def test_documentation_matches_the_argument_spec(docs, name, monkeypatch):
    doc = docs['mailops.window.%s' % name]['doc']
    captured = spec_of(MODULES[name], monkeypatch)
    spec = captured['spec']
    assert captured['check_mode'] is True
    assert set(doc['options']) == set(spec)
    for option, entry in spec.items():
        documented = doc['options'][option]
        assert documented.get('type', 'str') == entry.get('type', 'str'), option
        assert documented.get('default') == entry.get('default'), option
        assert bool(documented.get('required')) == bool(entry.get('required')), option
        assert documented.get('choices') == entry.get('choices'), option
        assert documented.get('elements') == entry.get('elements'), option
        if entry.get('no_log'):
            assert option == 'password'
    attrs = doc['attributes']
    assert set(attrs) >= {'check_mode', 'diff_mode', 'idempotent', 'action_group'}
    assert attrs['check_mode']['support'] == 'full' and attrs['idempotent']['support'] == 'full'
    assert attrs['action_group']['membership'] == ['mailops.window.celerra']
    assert set(COMMON_ARGUMENT_SPEC) <= set(doc['options'])
    examples = yaml.safe_load(docs['mailops.window.%s' % name]['examples'])
    assert examples and any(('mailops.window.%s' % name) in yaml.safe_dump(e) for e in examples)
    assert 'commands' in docs['mailops.window.%s' % name]['return']


def test_action_group_in_runtime():
    with open(os.path.join(REPO, 'meta', 'runtime.yml')) as f:
        runtime = yaml.safe_load(f)
    assert runtime['action_groups']['celerra'] == ['celerra_info', 'celerra_upgrade', 'celerra_filesystem', 'celerra_mover']
    assert runtime['requires_ansible']


def test_playbook_with_module_defaults_for_the_group(tmp_path):
    lab = LoopbackControlStation()
    try:
        known_hosts = tmp_path / 'known_hosts'
        known_hosts.write_text(public_line('[127.0.0.1]:%d' % lab.port, lab.host_key))
        playbook = tmp_path / 'play.yml'
        playbook.write_text(yaml.safe_dump([{
            'name': 'celerra modules with group defaults',
            'hosts': 'localhost',
            'connection': 'local',
            'gather_facts': False,
            'module_defaults': {'group/mailops.window.celerra': {
                'host': '127.0.0.1', 'port': lab.port, 'known_hosts': str(known_hosts),
                'password': lab.password}},
            'tasks': [
                {'name': 'info', 'mailops.window.celerra_info': {'gather_subset': ['versions']}, 'register': 'i'},
                {'name': 'move', 'mailops.window.celerra_filesystem': {'name': 'fs_store2', 'mover': 'server_3'},
                 'register': 'f', 'diff': True},
                {'name': 'upgrade check', 'mailops.window.celerra_upgrade': {'component': 'control_station',
                                                                             'version': '5.1'},
                 'check_mode': True, 'register': 'u'},
                {'ansible.builtin.assert': {'that': [
                    "i.control_station.version == '4.2.16-5'",
                    "f.changed and f.after.mover == 'server_3'",
                    "u.changed and u.planned | length == 1",
                ]}},
            ],
        }]))
        out = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', str(playbook)],
                             capture_output=True, text=True, env=ansible_env(tmp_path), cwd=REPO, timeout=300, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert 'ok=4' in out.stdout and 'changed=2' in out.stdout and 'failed=0' in out.stdout
        assert lab.password not in out.stdout + out.stderr
        assert lab.station.mounted_on('fs_store2')[0] == 'server_3'
        assert lab.connections == 3
    finally:
        lab.close()
