# Hostile inputs: every option that ends up in a command line is validated before anything is sent,
# and whatever is sent is quoted so that a real POSIX shell passes each word through unchanged.
from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _celerra_client as c
from ansible_collections.mailops.window.plugins.modules import celerra_filesystem, celerra_info, celerra_upgrade

HOSTILE = [
    'fs;rm -rf /', '$(id)', '`id`', 'fs store', 'fs\nid', "fs'x", 'fs"x', '..', '../etc', '/..', 'fs|id',
    'fs&&id', '-rf', '*', '~root', 'server_2;id', 'server_2 ', 'server_2\n', 'a\\b', '5.1;id', '5.1 && id',
    '/fs_store1;id', '/fs_store1/../etc', '$HOME', '>out', '', 'fs\x00x',
]

# (module, option builder): each puts the hostile value into one option that reaches a command.
TARGETS = [
    ('filesystem name', celerra_filesystem, lambda v: {'name': v, 'mover': 'server_3'}),
    ('filesystem mover', celerra_filesystem, lambda v: {'name': 'fs_store1', 'mover': v}),
    ('filesystem mountpoint', celerra_filesystem, lambda v: {'name': 'fs_store1', 'mover': 'server_3',
                                                             'mountpoint': v}),
    ('filesystem export host', celerra_filesystem, lambda v: {'name': 'fs_store1', 'mover': 'server_2',
                                                              'export': {'rw': [v]}}),
    ('filesystem access host', celerra_filesystem, lambda v: {'name': 'fs_store1', 'mover': 'server_2',
                                                              'export': {'access': ['mta1', v]}}),
    ('upgrade version', celerra_upgrade, lambda v: {'component': 'control_station', 'version': v}),
    ('upgrade movers', celerra_upgrade, lambda v: {'component': 'data_movers', 'version': '4.2', 'movers': [v]}),
    ('nas_db', celerra_info, lambda v: {'nas_db': v, 'gather_subset': ['versions']}),
]


@pytest.mark.parametrize('value', HOSTILE, ids=[repr(v) for v in HOSTILE])
@pytest.mark.parametrize('label, module, build', TARGETS, ids=[t[0] for t in TARGETS])
def test_hostile_option_is_refused_before_anything_is_sent(run_module, station, label, module, build, value):
    r = run_module(module, build(value))
    assert r.failed, (label, value, r)
    assert station.lines == [] and r['commands'] == [], (label, value, station.lines)
    assert r['msg']


@pytest.fixture(scope='module')
def printargs(tmp_path_factory):
    """A command that prints each argument it gets, NUL-terminated."""
    d = tmp_path_factory.mktemp('printargs')
    path = d / 'printargs'
    path.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done\n')
    path.chmod(0o755)
    return str(path), d


SHELL_WORDS = [v for v in HOSTILE if '\x00' not in v and '\n' not in v] + [
    '$(touch CANARY)', '`touch CANARY`', '; touch CANARY', '| touch CANARY', "'; touch CANARY; '",
    '"; touch CANARY; "', '\\; touch CANARY', '${IFS}touch${IFS}CANARY', 'a  b',
]


@pytest.mark.parametrize('word', SHELL_WORDS, ids=[repr(w) for w in SHELL_WORDS])
def test_a_real_shell_receives_each_word_unchanged(printargs, word):
    """Even a word that validation would refuse is quoted: sh -c passes it through as one argument,
    expands nothing and runs nothing."""
    script, workdir = printargs
    client = c.CelerraClient(host='h', session=object())
    line = client.build(script, ['-info', word, 'last'])
    out = subprocess.run(['sh', '-c', line], cwd=str(workdir), capture_output=True, check=True,
                         env={'PATH': '/usr/bin:/bin', 'HOME': str(workdir)}, timeout=10).stdout
    assert out.split(b'\0')[:-1] == [b'-info', word.encode(), b'last']
    assert not os.path.exists(os.path.join(str(workdir), 'CANARY'))


@pytest.mark.parametrize('word', ['fs\nid', 'fs\x00x', 'a\rb', 'x\x1b[2J'])
def test_control_characters_are_refused_even_when_quoted(word):
    client = c.CelerraClient(host='h', session=object())
    with pytest.raises(c.CelerraArgumentError):
        client.build('/nas/bin/nas_fs', ['-info', word])


def test_site_template_words_are_quoted_not_interpreted(run_module, station):
    """A literal in a site's template is one word for the remote shell: the fake receives it whole
    (and refuses it as a usage error, as an unknown argument would be)."""
    r = run_module(celerra_upgrade, {'component': 'control_station', 'version': '5.1',
                                     'upgrade_command': "/nas/sbin/nas_upgrade -cs -to {version} 'x; touch CANARY'"})
    assert r.failed and r['error_code'] == 2230
    assert station.argvs[-1][2:] == ['/nas/sbin/nas_upgrade', '-cs', '-to', '5.1', 'x; touch CANARY']
    assert station.lines[-1].endswith("-to 5.1 'x; touch CANARY'")


def test_status_command_with_shell_syntax_is_quoted(run_module, station):
    r = run_module(celerra_info, {'gather_subset': ['upgrade'], 'status_command': '/nas/sbin/nas_upgrade -status;id'})
    assert r.failed and r['error_code'] == 2230
    assert station.argvs[-1][2:] == ['/nas/sbin/nas_upgrade', '-status;id']


def test_password_never_in_output(run_module, station):
    r = run_module(celerra_info, {'gather_subset': ['versions'], 'password': 'S3cret-pw'})
    text = repr({k: v for k, v in r.items() if not k.startswith('_')})
    assert 'S3cret-pw' not in text and not any('S3cret-pw' in line for line in station.lines)
