# celerra_filesystem against the fake Control Station: change / no change / check mode / diff,
# the move ordering, export-only changes, refusals before any change, failures mid-way.
from __future__ import annotations

import re

import pytest

from ansible_collections.mailops.window.plugins.modules import celerra_filesystem as fs_module

HOSTS = {'rw': ['mta1', 'mta2'], 'root': ['mta1', 'mta2'], 'access': ['mta1', 'mta2']}
READS = ['nas_fs -list', 'nas_server -list', 'server_mount server_2', 'server_export server_2 -Protocol nfs -list']


def short(lines):
    """`env NAS_DB=/nas /nas/bin/server_mount server_2` -> `server_mount server_2`."""
    return [re.sub(r'^env NAS_DB=/nas /nas/s?bin/', '', line) for line in lines]


def test_no_change_when_in_place(run_module, station):
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_2', 'export': HOSTS})
    assert not r.failed and r['changed'] is False
    assert r['changes'] == [] and station.changes == []
    assert short(r['commands']) == READS
    assert r['connections'] == 1
    assert r['before'] == r['after'] == {'mover': 'server_2', 'mountpoint': '/fs_store1', 'mount_options': 'rw',
                                         'exported': True, 'export': dict(HOSTS, ro=[])}
    assert 'diff' not in r


def test_move_runs_unexport_umount_mount_export_in_that_order(run_module, station):
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'}, diff=True)
    assert not r.failed and r['changed'] is True
    assert short(r['changes']) == [
        'server_export server_2 -unexport -perm /fs_store1',
        'server_umount server_2 -perm fs_store1',
        'server_mount server_3 -option rw fs_store1 /fs_store1',
        'server_export server_3 -Protocol nfs -option rw=mta1:mta2,root=mta1:mta2,access=mta1:mta2 /fs_store1',
    ]
    assert [a[:2] for a in station.changes] == [
        ['/nas/bin/server_export', 'server_2'], ['/nas/bin/server_umount', 'server_2'],
        ['/nas/bin/server_mount', 'server_3'], ['/nas/bin/server_export', 'server_3']]
    # the fake's state is the new placement; the export options moved with the file system
    assert station.mounted_on('fs_store1')[0] == 'server_3'
    assert station.exports['server_3'] == {'/fs_store1': HOSTS}
    assert '/fs_store1' not in station.exports['server_2']
    assert r['before']['mover'] == 'server_2' and r['after']['mover'] == 'server_3'
    assert r['diff'] == {'before': r['before'], 'after': r['after']}
    # reads first (4 + the target's mount listing), then the 4 changes, on one connection
    assert len(r['commands']) == 9 and r['connections'] == 1
    # idempotent
    again = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert again['changed'] is False and again['changes'] == []


def test_check_mode_sends_no_change(run_module, station):
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'}, check_mode=True, diff=True)
    assert r['changed'] is True and len(r['changes']) == 4
    assert station.changes == []
    assert not any(cmd in line for line in station.lines for cmd in ('server_umount', '-unexport', '-option'))
    assert r['diff']['after']['mover'] == 'server_3'
    assert station.mounted_on('fs_store1')[0] == 'server_2'


def test_export_change_only_re_exports(run_module, station):
    new = {'rw': ['mta1'], 'access': ['mta1', '10.0.0.7']}
    r = run_module(fs_module, {'name': 'fs_store2', 'mover': 'server_2', 'export': new}, diff=True)
    assert r['changed'] is True
    assert short(r['changes']) == ['server_export server_2 -Protocol nfs -option rw=mta1,access=mta1:10.0.0.7 /fs_store2']
    assert station.exports['server_2']['/fs_store2'] == new
    assert r['diff']['before']['export']['root'] == ['mta1', 'mta2'] and r['diff']['after']['export']['root'] == []


def test_host_order_and_duplicates_do_not_count_as_a_change(run_module, station):
    shuffled = {'rw': ['mta2', 'mta1', 'mta1'], 'root': ['mta2', 'mta1'], 'access': ['mta1', 'mta2']}
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_2', 'export': shuffled})
    assert r['changed'] is False and station.changes == []


def test_exported_false_unexports_only(run_module, station):
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_2', 'exported': False})
    assert short(r['changes']) == ['server_export server_2 -unexport -perm /fs_store1']
    assert station.mounted_on('fs_store1')[0] == 'server_2'
    assert r['after']['exported'] is False


def test_mount_option_change_remounts(run_module, station):
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_2', 'mount_options': 'ro'})
    assert short(r['changes']) == [
        'server_export server_2 -unexport -perm /fs_store1', 'server_umount server_2 -perm fs_store1',
        'server_mount server_2 -option ro fs_store1 /fs_store1',
        'server_export server_2 -Protocol nfs -option rw=mta1:mta2,root=mta1:mta2,access=mta1:mta2 /fs_store1']
    assert station.mounted_on('fs_store1')[1][2] == 'ro'


def test_mount_an_unmounted_file_system(run_module, station):
    station.add_fs('fs_spare', 30)
    r = run_module(fs_module, {'name': 'fs_spare', 'mover': 'server_3', 'mountpoint': '/spare',
                               'export': {'rw': ['mta1']}})
    assert short(r['changes']) == ['server_mount server_3 -option rw fs_spare /spare',
                                   'server_export server_3 -Protocol nfs -option rw=mta1 /spare']
    assert r['before'] == {'mover': None, 'mountpoint': None, 'mount_options': None, 'exported': False, 'export': None}
    # not exported and nothing to carry over: left unexported
    station.add_fs('fs_other', 31)
    r = run_module(fs_module, {'name': 'fs_other', 'mover': 'server_3'})
    assert short(r['changes']) == ['server_mount server_3 -option rw fs_other /fs_other']


def test_exported_true_needs_options_when_not_exported(run_module, station):
    station.add_fs('fs_spare', 30)
    r = run_module(fs_module, {'name': 'fs_spare', 'mover': 'server_3', 'exported': True})
    assert r.failed and 'give the export options' in r['msg'] and station.changes == []


def test_absent(run_module, station):
    r = run_module(fs_module, {'name': 'fs_store2', 'state': 'absent'}, diff=True)
    assert short(r['changes']) == ['server_export server_2 -unexport -perm /fs_store2',
                                   'server_umount server_2 -perm fs_store2']
    assert station.mounted_on('fs_store2') == (None, None)
    assert r['after'] == {'mover': None, 'mountpoint': None, 'mount_options': None, 'exported': False, 'export': None}
    assert run_module(fs_module, {'name': 'fs_store2', 'state': 'absent'})['changed'] is False
    # absent on another mover than the one that has it: nothing to do
    assert run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3', 'state': 'absent'})['changed'] is False


@pytest.mark.parametrize('args, message', [
    ({'name': 'fs_store1', 'mover': 'server_9'}, 'no such data mover: server_9'),
    ({'name': 'fs_nope', 'mover': 'server_3'}, 'no such file system: fs_nope'),
    ({'name': 'root_fs_1', 'mover': 'server_3'}, 'root file system'),
    ({'name': 'fs_store1'}, 'mover is required'),
    ({'name': 'fs_store1', 'mover': 'server_3', 'export': {'rw': ['mta1']}, 'exported': False}, 'cannot be combined'),
])
def test_refused_before_any_change(run_module, station, args, message):
    r = run_module(fs_module, args)
    assert r.failed and message in r['msg']
    assert station.changes == []
    assert not any('server_umount' in line or '-unexport' in line or '-option' in line for line in station.lines)


def test_mountpoint_in_use_on_target_is_refused_before_any_change(run_module, station):
    station.mounts['server_3'].append(['fs_other', '/fs_store1', 'rw'])
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert r.failed and 'in use by fs_other' in r['msg'] and station.changes == []


def test_target_mover_not_ready_fails_with_the_celerras_message(run_module, station):
    station.movers['server_3'].panicked = True
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert r.failed and r['msg'] == 'Error 2102: server_3 : data mover not ready (reason 7)'
    assert r['error_code'] == 2102 and r['rc'] == 2 and station.changes == []


def test_lock_held_fails_at_the_first_change(run_module, station):
    station.faults['lock_held'] = 1
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert r.failed and 'Error 2201: server_2 : unable to acquire lock(s), try later' in r['msg']
    assert r['changed'] is False and r['changes'] == [] and r['error_code'] == 2201
    assert 'server_export server_2 -unexport' in r['failed_change']
    assert r['stdout'] == 'Error 2201: server_2 : unable to acquire lock(s), try later\n'


def test_failure_midway_reports_what_ran(run_module, station):
    def panic_before_mount(argv):
        if argv[2] == '/nas/bin/server_mount' and len(argv) > 4:
            station.movers['server_3'].panicked = True
    station.before_command = panic_before_mount
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert r.failed and r['changed'] is True
    assert short(r['changes']) == ['server_export server_2 -unexport -perm /fs_store1',
                                   'server_umount server_2 -perm fs_store1']
    assert 'server_mount server_3' in r['failed_change']
    assert 'Error 2102: server_3 : data mover not ready (reason 7)' in r['msg']


def test_strict_fake_refuses_the_wrong_order(station):
    """The fake fails as the contract says the real system does, so a wrong order cannot pass."""
    def run(line):
        return station.execute('env NAS_DB=/nas ' + line)
    r = run('/nas/bin/server_umount server_2 -perm fs_store1')
    assert r.rc == 2 and r.stdout.startswith('Error 2214: server_2 : fs_store1 is exported')
    r = run('/nas/bin/server_mount server_3 -option rw fs_store1 /fs_store1')
    assert r.stdout.startswith('Error 2212: fs_store1 : file system is mounted on server_2')
    r = run('/nas/bin/server_export server_3 -Protocol nfs -option rw=mta1 /fs_store1')
    assert r.stdout.startswith('Error 2220: server_3 : /fs_store1 : No such file or directory')
    r = run('/nas/bin/server_export server_3 -unexport -perm /fs_store1')
    assert r.stdout.startswith('Error 2221')
    r = run('/nas/bin/server_export server_2 -Protocol nfs -option rx=a /fs_store1')
    assert r.stdout == "Error 2230: server_export : invalid option 'rx=a'\n"
    r = run('/nas/bin/server_mount server_9')
    assert r.stdout == 'Error 2100: server_9 : No such data mover\n'
    r = run('/nas/sbin/nas_upgrade -dm ALL -to 5.1')
    assert r.stdout.startswith('Error 5010')
    r = run('/nas/bin/getreason')          # getreason lives in /nas/sbin
    assert r.rc == 127 and 'No such file or directory' in r.stderr
    assert station.changes == []
    with pytest.raises(AssertionError):
        station.execute('env NAS_DB=/nas /nas/bin/nas_fs -info fs;id')
