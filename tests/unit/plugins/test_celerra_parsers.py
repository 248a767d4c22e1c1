# Parsers of the Control Station CLI output, on the contract's samples (fixtures/celerra/) and on
# hand-written variants: extra spaces, empty listings, a mover that is not ready, error lines.
from __future__ import annotations

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as p

ParseError = p.CelerraParseError


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, code, subject, message', [
    ('error_2201.txt', 2201, 'server_2', 'unable to acquire lock(s), try later'),
    ('error_2230.txt', 2230, 'server_export', "invalid option 'rx=a'"),
    ('error_2220.txt', 2220, 'server_3', '/fs_store1 : No such file or directory'),
    ('nas_version_5005_failed.txt', 5005, 'nas_version',
     'control station software inconsistent (upgrade 4.2.16-5 -> 5.1.23-2 failed at step 3/5 install_packages)'),
])
def test_error_lines(sample, name, code, subject, message):
    assert p.find_error(sample(name)) == {'code': code, 'subject': subject, 'message': message}


@pytest.mark.parametrize('line, expected', [
    ('  Error   2100:  server_9  :  No such data mover  ', (2100, 'server_9', 'No such data mover')),
    ('Error 2211: fs_x : no such file system', (2211, 'fs_x', 'no such file system')),
    ('Error 2213: server_3 : fs_store1 is not mounted\r', (2213, 'server_3', 'fs_store1 is not mounted')),
])
def test_error_line_variants(line, expected):
    err = p.parse_error_line(line)
    assert (err['code'], err['subject'], err['message']) == expected


@pytest.mark.parametrize('text', ['server_2 : done', 'Error: something', 'Error 22: x : y', 'Errors 2201: a : b',
                                  'server_3 : Error 2102: data mover not ready (reason 0)', ''])
def test_not_error_lines(text):
    assert p.find_error(text) is None


def test_find_error_looks_in_stderr_too():
    assert p.find_error('', 'noise\nError 2214: server_2 : fs_store1 is exported, unexport first\n')['code'] == 2214


def test_inconsistent_message(sample):
    msg = p.find_error(sample('nas_version_5005_failed.txt'))['message']
    assert p.parse_inconsistent(msg) == {'from': '4.2.16-5', 'to': '5.1.23-2', 'in_progress': False, 'step': 3,
                                         'steps': 5, 'step_name': 'install_packages'}
    msg = p.find_error(sample('nas_version_5005_running.txt'))['message']
    info = p.parse_inconsistent(msg)
    assert info['in_progress'] is True and info['step'] == 2 and info['step_name'] == 'backup_nas_db'
    assert p.parse_inconsistent('something else')['step'] is None


# -- versions ----------------------------------------------------------------------------------

def test_nas_version(sample):
    assert p.parse_nas_version(sample('nas_version.txt')) == '4.2.16-5'
    assert p.parse_nas_version('  5.1.23-2  \n\n') == '5.1.23-2'


@pytest.mark.parametrize('text', ['', '4.2.16', 'T4.2.16.5', '4.2.16-5\n5.1.23-2\n', 'version 4.2.16-5'])
def test_nas_version_rejects(text):
    with pytest.raises(ParseError):
        p.parse_nas_version(text)


def test_version_helpers():
    assert p.version_tuple('4.2.16-5') == (4, 2, 16, 5)
    assert p.version_tuple('T5.1.23.2') == (5, 1, 23, 2)
    assert p.version_tuple('5.1') == (5, 1)
    assert p.version_in_family('5.1.23-2', '5.1')
    assert p.version_in_family('T5.1.23.2', '5.1.23')
    assert not p.version_in_family('T5.10.1.1', '5.1')
    assert not p.version_in_family('4.2.16-5', '5.1')
    assert not p.version_in_family(None, '5.1')
    assert p.family_newer_than('5.1', '4.2.16-5')
    assert not p.family_newer_than('4.2', '4.2.16-5')
    assert not p.family_newer_than('4.2', '5.1.23-2')
    with pytest.raises(ValueError):
        p.version_tuple('5.x')


def test_server_version(sample):
    movers = p.parse_server_version(sample('server_version_all.txt'))
    assert list(movers) == ['server_2', 'server_3']
    assert movers['server_2']['version'] == 'T4.2.16.5' and movers['server_2']['ready']


def test_server_version_not_ready(sample):
    movers = p.parse_server_version(sample('server_version_not_ready.txt'))
    assert movers['server_2']['ready'] and movers['server_2']['version'] == 'T4.2.16.5'
    assert movers['server_3'] == {'version': None, 'ready': False, 'error': {
        'code': 2102, 'subject': 'server_3', 'message': 'data mover not ready (reason 0)'}}


def test_server_version_extra_spaces_and_garbage():
    movers = p.parse_server_version('  server_2   :   Product:  EMC Celerra File Server   Version:  T5.1.23.2  \n')
    assert movers['server_2']['version'] == 'T5.1.23.2'
    with pytest.raises(ParseError):
        p.parse_server_version('server_2 : Product: EMC Celerra File Server Version: 5.1\n')


# -- movers ------------------------------------------------------------------------------------

def test_nas_server_list(sample):
    movers = p.parse_nas_server_list(sample('nas_server_list.txt'))
    assert [(m['id'], m['name'], m['slot'], m['type'], m['state'], m['group_id']) for m in movers] == [
        (1, 'server_2', 2, 'nas', 0, None), (2, 'server_3', 3, 'nas', 0, None)]


def test_nas_server_list_variants():
    text = ('id  type acl slot groupID state name\n'
            '1 1 0 2 0 server_2\n'
            '  3     4    0     5     7        0     server_5   \n')
    movers = p.parse_nas_server_list(text)
    assert movers[1] == {'id': 3, 'type_code': 4, 'type': 'standby', 'acl': 0, 'slot': 5, 'group_id': 7,
                         'state': 0, 'name': 'server_5'}
    assert p.parse_nas_server_list('id      type  acl  slot groupID  state  name\n') == []
    with pytest.raises(ParseError):
        p.parse_nas_server_list('1 1 0 2 0 server_2\n')
    with pytest.raises(ParseError):
        p.parse_nas_server_list('id type acl slot groupID state name\n1 1 0 2 0 mover_2\n')


def test_nas_server_info(sample):
    info = p.parse_nas_server_info(sample('nas_server_info.txt'))
    assert info['name'] == 'server_2' and info['slot'] == '2' and info['member_of'] == ''
    assert info['status'] == {'defined': 'enabled', 'actual': 'online, ready'}
    assert info['actual'] == ['online', 'ready'] and info['ready'] is True
    panicked = sample('nas_server_info.txt').replace('online, ready', 'offline, panicked')
    assert p.parse_nas_server_info(panicked)['ready'] is False


def test_getreason(sample):
    entries = p.parse_getreason(sample('getreason.txt'))
    assert entries[0] == {'code': 10, 'slot': 0, 'text': 'primary control station', 'reason': 'primary control station',
                          'mover': None}
    assert [(e['mover'], e['code'], e['reason']) for e in entries[1:]] == [
        ('server_2', 5, 'contacted'), ('server_3', 5, 'contacted')]


def test_getreason_rebooting_and_panicked():
    entries = p.parse_getreason('10 - slot_0 primary control station\n 0 - slot_2 reset\n  7 - slot_3 panic\n')
    assert [(e['mover'], e['code'], e['reason']) for e in entries[1:]] == [
        ('server_2', 0, 'reset'), ('server_3', 7, 'panic')]
    with pytest.raises(ParseError):
        p.parse_getreason('slot_2 contacted\n')


# -- file systems, mounts, exports -------------------------------------------------------------

def test_nas_fs_list(sample):
    fss = p.parse_nas_fs_list(sample('nas_fs_list.txt'))
    assert [(f['id'], f['name'], f['inuse'], f['server'], f['root']) for f in fss] == [
        (1, 'root_fs_1', False, None, True), (25, 'fs_store1', True, 1, False), (26, 'fs_store2', True, 1, False)]


def test_nas_fs_list_variants():
    header = 'id      inuse type acl   volume    name                server\n'
    assert p.parse_nas_fs_list(header) == []
    fss = p.parse_nas_fs_list(header + '  27   n  1  0  116  fs.spare-1   \n28 y 1 0 118 fs_x 2\n')
    assert fss[0]['name'] == 'fs.spare-1' and fss[0]['server'] is None
    assert fss[1]['server'] == 2
    for bad in ('27 maybe 1 0 116 fs_x\n', '27 y 1 0 116 fs_x srv\n', 'x y 1 0 116 fs_x\n'):
        with pytest.raises(ParseError):
            p.parse_nas_fs_list(header + bad)


def test_nas_fs_info(sample):
    info = p.parse_nas_fs_info(sample('nas_fs_info.txt'))
    assert info['name'] == 'fs_store1' and info['in_use'] == 'True'
    assert info['rw_servers'] == ['server_2'] and info['ro_servers'] == []
    assert info['size_mb'] == {'total': 10240, 'avail': 9870, 'used': 370}


def test_server_mount(sample):
    listing = p.parse_server_mount(sample('server_mount.txt'))
    assert listing['mover'] == 'server_2'
    assert [(m['fs'], m['mountpoint'], m['mode']) for m in listing['mounts']] == [
        ('root_fs_2', '/', 'rw'), ('root_fs_common', '/.etc_common', 'ro'), ('fs_store1', '/fs_store1', 'rw')]
    assert listing['mounts'][2]['options'] == ['perm', 'rw'] and listing['mounts'][2]['fstype'] == 'uxfs'


def test_server_mount_variants():
    assert p.parse_server_mount('server_3 :\n') == {'mover': 'server_3', 'mounts': []}
    listing = p.parse_server_mount('  server_3  :  \n   fs_store2    on   /fs_store2   uxfs,perm,ro  \n')
    assert listing['mounts'][0]['mode'] == 'ro'
    for bad in ('', 'fs_store1 on /fs_store1 uxfs,perm,rw\n', 'server_3 :\nfs_store1 at /x\n'):
        with pytest.raises(ParseError):
            p.parse_server_mount(bad)


def test_server_export(sample):
    listing = p.parse_server_export(sample('server_export.txt'))
    assert listing == {'mover': 'server_2', 'exports': [{'path': '/fs_store1', 'other': {}, 'options': {
        'rw': ['mta1', 'mta2'], 'root': ['mta1', 'mta2'], 'access': ['mta1', 'mta2']}}]}


def test_server_export_empty_and_variants(sample):
    assert p.parse_server_export(sample('server_export_empty.txt')) == {'mover': 'server_2', 'exports': []}
    listing = p.parse_server_export('server_3 :\n  export   "/fs_store2"   ro=10.0.0.5   name="x" \n'
                                    'export "/fs_a"\n')
    assert listing['exports'][0]['options'] == {'ro': ['10.0.0.5']}
    assert listing['exports'][1] == {'path': '/fs_a', 'options': {}, 'other': {}}
    with pytest.raises(ParseError):
        p.parse_server_export('server_3 :\nshare /fs_a\n')


def test_export_options_comma_form():
    assert p.parse_export_options('rw=h1:h2,root=h1,access=h1:h2') == (
        {'rw': ['h1', 'h2'], 'root': ['h1'], 'access': ['h1', 'h2']}, {})


# -- upgrade status and checkup ----------------------------------------------------------------

def test_upgrade_status(sample):
    status = p.parse_upgrade_status(sample('nas_upgrade_status.txt'))
    assert list(status) == ['cs', 'server_2', 'server_3']
    cs = status['cs']
    assert (cs['state'], cs['step'], cs['steps'], cs['step_name'], cs['from'], cs['to'], cs['progress']) == (
        'running', 3, 5, 'install_packages', '4.2.16-5', '5.1.23-2', 52)
    assert status['server_3']['to'] is None and status['server_3']['step_name'] is None
    assert status['server_2']['state'] == 'done'


@pytest.mark.parametrize('line', [
    'component=cs state=running step=3/5 step_name=x from=a to=b',                   # progress missing
    'component=cs state=sleeping step=3/5 step_name=x from=a to=b progress=1',       # unknown state
    'component=cs state=running step=3 step_name=x from=a to=b progress=1',          # bad step
    'component=cs state=running step=3/5 step_name=x from=a to=b progress=1 junk',   # token without =
])
def test_upgrade_status_rejects(line):
    with pytest.raises(ParseError):
        p.parse_upgrade_status(line + '\n')


def test_checkup_pass(sample):
    report = p.parse_checkup(sample('nas_checkup.txt'))
    assert report['status'] == 'pass' and report['failing'] == []
    assert report['version'] == '4.2.16.5' and report['log'] == '/nas/log/checkup-run.260110-050000.log'
    assert len(report['checks']) == 5
    assert report['checks'][2] == {'category': 'Data Movers', 'check': 'Checking status', 'result': 'pass'}


def test_checkup_warning_and_fail(sample):
    text = sample('nas_checkup.txt')
    warn = text.replace('Checking version consistency.............................. Pass',
                        'Checking version consistency.............................. Warning')
    report = p.parse_checkup(warn)
    assert report['status'] == 'warning'
    assert report['failing'] == [{'category': 'Data Movers', 'check': 'Checking version consistency',
                                  'result': 'warning'}]
    fail = warn.replace('Checking status........................................... Pass',
                        'Checking status........................................... Fail')
    report = p.parse_checkup(fail)
    assert report['status'] == 'fail' and [c['result'] for c in report['failing']] == ['fail', 'warning']
    with pytest.raises(ParseError):
        p.parse_checkup('Check Version:  4.2.16.5\n')


def test_mover_done(sample):
    assert p.parse_mover_done(sample('done.txt'), 'server_2')
    assert not p.parse_mover_done(sample('done.txt'), 'server_3')
    assert not p.parse_mover_done(sample('error_2201.txt'), 'server_2')


# -- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize('value, ok', [
    ('server_2', True), ('server_10', True), ('ALL', False), ('server_', False), ('server_2 ', False),
    ('Server_2', False), ('server_2;id', False), ('server_2\n', False),
])
def test_is_mover(value, ok):
    assert p.is_mover(value) is ok


@pytest.mark.parametrize('value, ok', [
    ('mta1', True), ('mta-1.lab.example', True), ('10.0.0.5', True), ('256.1.1.1', False), ('1.2.3', False),
    ('-mta', False), ('mta_1', False), ('a:b', False), ('', False), ('mta1\n', False), ('a b', False),
])
def test_is_host(value, ok):
    assert p.is_host(value) is ok
