# celerra_info against the fake Control Station: what it gathers, how many round trips each subset
# costs, movers that are not ready, an inconsistent station, and that it never changes anything.
from __future__ import annotations

import re

import pytest

from ansible_collections.mailops.window.plugins.modules import celerra_info as info


def test_gather_all(run_module, station):
    r = run_module(info, {})
    assert not r.failed and r['changed'] is False
    assert r['control_station'] == {'version': '4.2.16-5', 'consistent': True, 'error': None, 'upgrade': None}
    assert r['mover_versions'] == {'server_2': 'T4.2.16.5', 'server_3': 'T4.2.16.5'}
    assert r['movers'][0] == {'name': 'server_2', 'id': 1, 'slot': 2, 'type': 'nas', 'state': 0, 'reason_code': 5,
                              'reason': 'contacted', 'reason_text': 'slot_2 contacted', 'version': 'T4.2.16.5',
                              'ready': True}
    by_name = {f['name']: f for f in r['filesystems']}
    assert by_name['fs_store1'] == {'id': 25, 'name': 'fs_store1', 'inuse': True, 'root': False, 'mover': 'server_2',
                                    'mountpoint': '/fs_store1', 'mount_options': 'rw'}
    assert by_name['root_fs_1']['root'] is True and by_name['root_fs_1']['mover'] is None
    assert r['exports'] == {'server_2': [
        {'path': '/fs_store1', 'rw': ['mta1', 'mta2'], 'ro': [], 'root': ['mta1', 'mta2'], 'access': ['mta1', 'mta2']},
        {'path': '/fs_store2', 'rw': ['mta1', 'mta2'], 'ro': [], 'root': ['mta1', 'mta2'], 'access': ['mta1', 'mta2']},
    ], 'server_3': []}
    assert r['upgrade']['cs']['state'] == 'idle' and r['upgrade']['server_3']['to'] is None
    assert r['checkup']['status'] == 'pass' and r['checkup']['failing'] == []
    assert r['errors'] == []
    # every command at most once, one connection, nothing changed
    assert len(r['commands']) == len(set(r['commands'])) == 10
    assert r['connections'] == 1 and station.changes == []


@pytest.mark.parametrize('subset, commands', [
    (['versions'], ['nas_version', 'server_version ALL']),
    (['upgrade'], ['nas_upgrade -status']),
    (['checkup'], ['nas_checkup']),
    (['movers'], ['getreason', 'server_version ALL', 'nas_server -list']),
    (['exports'], ['nas_server -list', 'server_export server_2 -Protocol nfs -list',
                   'server_export server_3 -Protocol nfs -list']),
    (['filesystems'], ['nas_server -list', 'nas_fs -list', 'server_mount server_2']),
    (['versions', 'movers'], ['nas_version', 'server_version ALL', 'getreason', 'nas_server -list']),
])
def test_subsets_limit_round_trips(run_module, station, subset, commands):
    r = run_module(info, {'gather_subset': subset})
    assert [re.sub(r'^env NAS_DB=/nas /nas/s?bin/', '', c) for c in r['commands']] == commands
    keys = {'versions': 'control_station', 'movers': 'movers', 'filesystems': 'filesystems', 'exports': 'exports',
            'upgrade': 'upgrade', 'checkup': 'checkup'}
    for name, key in keys.items():
        assert (key in r) == (name in subset)


def test_mover_not_ready(run_module, station):
    station.movers['server_3'].panicked = True
    station.mounts['server_3'].append(['fs_spare', '/fs_spare', 'rw'])
    station.add_fs('fs_spare', 30)
    r = run_module(info, {})
    assert not r.failed, r['msg']
    assert r['mover_versions']['server_3'] is None
    mover = r['movers'][1]
    assert mover['ready'] is False and mover['reason_code'] == 7 and mover['reason'] == 'panic'
    assert r['exports']['server_3'] is None
    spare = next(f for f in r['filesystems'] if f['name'] == 'fs_spare')
    assert spare['mover'] == 'server_3' and spare['mountpoint'] is None
    assert r['checkup']['status'] == 'fail'
    assert {'subject': 'server_3', 'code': 2102, 'message': 'data mover not ready (reason 7)',
            'command': 'server_export'} in r['errors']


def test_inconsistent_station(run_module, station):
    station.faults['cs_upgrade_fail'] = 2
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    station.advance(10)
    r = run_module(info, {'gather_subset': ['versions', 'upgrade', 'checkup']})
    cs = r['control_station']
    assert cs['consistent'] is False and cs['version'] is None
    assert cs['upgrade'] == {'from': '4.2.16-5', 'to': '5.1.23-2', 'in_progress': False, 'step': 2, 'steps': 5,
                             'step_name': 'backup_nas_db'}
    assert r['upgrade']['cs']['state'] == 'failed'
    assert r['checkup']['status'] == 'fail'
    assert [c['check'] for c in r['checkup']['failing']] == ['Checking software version consistency']


def test_check_mode_gathers_the_same(run_module, station):
    r = run_module(info, {'gather_subset': ['versions']}, check_mode=True)
    assert r['control_station']['version'] == '4.2.16-5' and r['changed'] is False


def test_real_errors_still_fail(run_module, station):
    station.faults['hang'] = 'nas_checkup'
    r = run_module(info, {'gather_subset': ['checkup'], 'command_timeout': 5})
    assert r.failed and 'timed out after 5s' in r['msg']
    r = run_module(info, {'gather_subset': ['upgrade'], 'status_command': '/nas/sbin/nas_upgrade -bogus'})
    assert r.failed and r['error_code'] == 2230 and r['rc'] == 2


def test_bad_subset_is_refused(run_module, station):
    r = run_module(info, {'gather_subset': ['everything']})
    assert r.failed and 'gather_subset' in r['msg'] and station.lines == []


# -- wait_for_upgrades ---------------------------------------------------------------------------

WAIT = {'gather_subset': ['versions'], 'wait_for_upgrades': True, 'poll_interval': 1}


def test_wait_for_upgrades_lets_a_running_job_end_first(run_module, station):
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    station.advance(4)
    r = run_module(info, WAIT)
    assert not r.failed and r['changed'] is False, r.get('msg')
    assert r['waited_for'] == ['cs']
    assert r['control_station']['version'] == '5.1.23-2' and r['control_station']['consistent'] is True
    assert r['progress'][0] == 'upgrade jobs: waiting for control station: running step 2/5 backup_nas_db'
    assert r['progress'][-1] == 'upgrade jobs: waiting for control station: running step 5/5 restart_services'
    assert 15 <= station.now <= 17 and station.changes == []


def test_wait_for_upgrades_with_nothing_running_reads_the_status_once(run_module, station):
    r = run_module(info, WAIT)
    assert not r.failed and r['waited_for'] == [] and 'progress' not in r
    assert [re.sub(r'^env NAS_DB=/nas /nas/s?bin/', '', c) for c in r['commands']] == [
        'nas_upgrade -status', 'nas_version', 'server_version ALL']
    assert station.now == 0


def test_wait_for_upgrades_waits_through_a_lost_connection(run_module, station):
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    station.disconnect_on = ['nas_upgrade -status']
    r = run_module(info, WAIT)
    assert not r.failed and r['connections'] == 2 and r['waited_for'] == ['cs']
    assert any('connection lost' in line for line in r['progress'])


def test_wait_for_upgrades_times_out(run_module, station):
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    r = run_module(info, dict(WAIT, wait_timeout=5))
    assert r.failed and r['timed_out'] is True and r['waited_for'] == ['cs']
    assert 'an upgrade job still runs on the Control Station after 5s' in r['msg']
    r = run_module(info, dict(WAIT, wait_timeout=0))
    assert r.failed and 'must be positive' in r['msg']
