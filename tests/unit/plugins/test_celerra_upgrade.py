# celerra_upgrade against the fake Control Station (its clock advances with the module's poll
# sleeps): change / no change / check mode / diff, a failed step and the rollback, timeouts, mover
# code newer than the station refused before anything is sent, movers rebooting, lost connections.
from __future__ import annotations

import pytest

from ansible_collections.mailops.window.plugins.modules import celerra_upgrade as up

CS = {'component': 'control_station', 'version': '5.1', 'poll_interval': 1}
DM = {'component': 'data_movers', 'version': '5.1', 'poll_interval': 1}


def sent(station, word):
    return [line for line in station.lines if word in line]


def upgrade_station(run_module, station):
    r = run_module(up, CS)
    assert not r.failed, r['msg']
    assert station.cs_version == '5.1.23-2'
    return r


def test_control_station_upgrade(run_module, station):
    r = run_module(up, CS, diff=True)
    assert not r.failed and r['changed'] is True
    assert r['before'] == {'control_station': '4.2.16-5'} and r['after'] == {'control_station': '5.1.23-2'}
    assert r['diff'] == {'before': r['before'], 'after': r['after']}
    assert r['planned'] == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1']
    assert sent(station, '-cs -to') == r['planned']
    assert r['status']['cs']['state'] == 'done'
    # progress: each step once, to the log and to the return value
    assert r['progress'] == r['_log']
    assert r['progress'] == [
        'control station: upgrade 4.2.16-5 -> 5.1 started',
        'control station: running step 1/5 precheck',
        'control station: running step 2/5 backup_nas_db',
        'control station: running step 3/5 install_packages',
        'control station: running step 4/5 migrate_nas_db',
        'control station: running step 5/5 restart_services',
        'control station: done step 5/5 restart_services',
    ]
    # the poll waited on the fake clock: 5 steps of 3 s, polled every second
    assert 15 <= station.now <= 17
    assert r['connections'] == 1 and r['commands'][0] == 'env NAS_DB=/nas /nas/bin/nas_version'
    assert r['commands'][-1] == 'env NAS_DB=/nas /nas/bin/nas_version'


def test_no_change_when_already_on_the_family(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, CS)
    assert r['changed'] is False and r['commands'] == ['env NAS_DB=/nas /nas/bin/nas_version']
    assert r['before'] == r['after'] == {'control_station': '5.1.23-2'}


def test_check_mode_sends_no_upgrade(run_module, station):
    r = run_module(up, CS, check_mode=True, diff=True)
    assert r['changed'] is True and r['planned'] == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1']
    assert sent(station, 'nas_upgrade') == [] and station.cs_version == '4.2.16-5'
    assert r['diff']['after'] == {'control_station': '5.1'}
    assert station.now == 0


def test_older_family_is_refused(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, dict(CS, version='4.2'))
    assert r.failed and 'state=rolled_back' in r['msg']
    assert len(sent(station, '-cs -to')) == 1


def test_failed_step_is_reported_then_rolled_back(run_module, station):
    station.faults['cs_upgrade_fail'] = 3
    r = run_module(up, CS)
    assert r.failed
    assert r['failed_step'] == {'component': 'cs', 'step': 3, 'steps': 5, 'step_name': 'install_packages'}
    assert 'failed at step 3/5 install_packages' in r['msg'] and 'state=rolled_back' in r['msg']
    assert r['status']['cs']['state'] == 'failed'

    # the station is inconsistent now: state=present refuses to go on, sending nothing new
    before = len(sent(station, 'nas_upgrade -cs'))
    r = run_module(up, CS)
    assert r.failed and 'inconsistent' in r['msg'] and r['failed_step']['step'] == 3
    assert len(sent(station, 'nas_upgrade -cs')) == before

    # check mode of the rollback sends nothing
    r = run_module(up, {'component': 'control_station', 'state': 'rolled_back', 'version': '4.2'}, check_mode=True)
    assert r['changed'] is True and sent(station, '-rollback') == []

    r = run_module(up, {'component': 'control_station', 'state': 'rolled_back', 'version': '4.2',
                        'poll_interval': 1}, diff=True)
    assert not r.failed and r['changed'] is True, r.get('msg')
    assert r['after'] == {'control_station': '4.2.16-5'}
    assert r['before']['control_station'] is None and 'inconsistent' in r['before']
    assert sent(station, '-rollback') == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -rollback']
    assert station.cs_consistent() and station.cs_version == '4.2.16-5'

    again = run_module(up, {'component': 'control_station', 'state': 'rolled_back', 'version': '4.2'})
    assert again['changed'] is False and len(sent(station, '-rollback')) == 1
    without_version = run_module(up, {'component': 'control_station', 'state': 'rolled_back'})
    assert without_version['changed'] is False


def test_rollback_of_a_finished_upgrade(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, {'component': 'control_station', 'state': 'rolled_back', 'poll_interval': 1})
    assert r['changed'] is True and station.cs_version == '4.2.16-5'
    assert r['before'] == {'control_station': '5.1.23-2'} and r['after'] == {'control_station': '4.2.16-5'}


def test_rollback_with_nothing_to_roll_back(run_module, station):
    r = run_module(up, {'component': 'control_station', 'state': 'rolled_back'})
    assert r['changed'] is False and sent(station, '-rollback') == []
    r = run_module(up, {'component': 'control_station', 'state': 'rolled_back', 'version': '3.9'})
    assert r.failed and 'no upgrade to roll back' in r['msg']


def test_timeout(run_module, station):
    r = run_module(up, dict(CS, timeout=5))
    assert r.failed and r['timed_out'] is True
    assert 'did not finish within 5s' in r['msg'] and 'running step 2/5 backup_nas_db' in r['msg']
    assert 5 <= station.now <= 6


def test_attaches_to_a_running_upgrade(run_module, station):
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    station.advance(4)
    r = run_module(up, CS)
    assert not r.failed and r['changed'] is True and station.cs_version == '5.1.23-2'
    assert len(sent(station, '-cs -to')) == 1
    assert 'already running' in r['progress'][0]


def test_lost_connection_during_the_poll_is_waited_through(run_module, station):
    station.disconnect_on = ['nas_upgrade -status', 'nas_upgrade -status']
    r = run_module(up, CS)
    assert not r.failed and r['changed'] is True
    # the first status drops the connection, the reconnect drops on the next status, the third holds
    assert r['connections'] == 3
    assert any('connection lost' in line for line in r['progress'])


def test_hung_status_command_is_waited_through(run_module, station):
    def unhang(argv):
        if station.now > 5:
            station.faults.pop('hang', None)
    station.before_command = unhang
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    station.faults['hang'] = 'nas_upgrade'
    station.cs_job['start'] = 0
    r = run_module(up, dict(CS, command_timeout=3))
    assert not r.failed, r['msg']
    assert any('timed out after 3s' in line for line in r['progress'])


def test_lock_held_fails_with_the_celerras_message(run_module, station):
    station.faults['lock_held'] = 1
    r = run_module(up, CS)
    assert r.failed and r['msg'] == 'Error 2201: nas_upgrade : unable to acquire lock(s), try later'
    assert r['error_code'] == 2201 and r['rc'] == 2


# -- data movers ---------------------------------------------------------------------------------

def test_mover_code_newer_than_the_station_is_refused_before_anything_is_sent(run_module, station):
    r = run_module(up, DM)
    assert r.failed
    assert "newer than the control station's 4.2.16-5" in r['msg'] and 'upgrade the control station first' in r['msg']
    assert r['commands'] == ['env NAS_DB=/nas /nas/bin/nas_version']
    assert sent(station, 'nas_upgrade') == []


def test_data_movers_upgrade_all(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, DM, diff=True)
    assert not r.failed and r['changed'] is True, r.get('msg')
    assert r['planned'] == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -dm ALL -to 5.1']
    assert r['before'] == {'server_2': 'T4.2.16.5', 'server_3': 'T4.2.16.5'}
    assert r['after'] == {'server_2': 'T5.1.23.2', 'server_3': 'T5.1.23.2'}
    assert r['diff'] == {'before': r['before'], 'after': r['after']}
    assert any('server_3: running step 2/2 reboot' in line for line in r['progress'])
    assert all(m.version == 'T5.1.23.2' for m in station.movers.values())
    again = run_module(up, DM)
    assert again['changed'] is False and len(sent(station, '-dm')) == 1


def test_named_movers_one_after_the_other(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, dict(DM, movers=['server_3']))
    assert r['planned'] == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -dm server_3 -to 5.1']
    assert r['before'] == {'server_3': 'T4.2.16.5'} and r['after'] == {'server_3': 'T5.1.23.2'}
    assert station.movers['server_2'].version == 'T4.2.16.5'
    # ALL when one mover is already there: only the other one is upgraded
    r = run_module(up, DM)
    assert r['planned'] == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -dm server_2 -to 5.1']


def test_data_movers_check_mode(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, DM, check_mode=True)
    assert r['changed'] is True and r['after'] == {'server_2': '5.1', 'server_3': '5.1'}
    assert sent(station, '-dm') == []


def test_mover_panic_reports_the_failed_step(run_module, station):
    upgrade_station(run_module, station)
    station.faults['dm_panic'] = 'server_3'
    r = run_module(up, DM)
    assert r.failed and r['failed_step'] == {'component': 'server_3', 'step': 2, 'steps': 2, 'step_name': 'reboot'}
    assert 'server_3 failed at step 2/2 reboot' in r['msg']


def test_mover_not_ready_is_refused_before_sending(run_module, station):
    upgrade_station(run_module, station)
    station.movers['server_3'].panicked = True
    r = run_module(up, DM)
    assert r.failed and 'not ready' in r['msg'] and 'server_3' in r['msg']
    assert sent(station, '-dm') == []


def test_unknown_mover_and_bad_arguments_are_refused_before_sending(run_module, station):
    r = run_module(up, dict(DM, version='4.2', movers=['server_9']))
    assert r.failed and 'unknown data mover(s): server_9' in r['msg'] and sent(station, 'nas_upgrade') == []
    for args, message in [
        (dict(DM, movers=['ALL', 'server_2']), 'cannot be combined'),
        (dict(DM, state='rolled_back'), 'only supported for component=control_station'),
        ({'component': 'control_station'}, 'version is required'),
        (dict(CS, version='5'), 'invalid version'),
        (dict(CS, timeout=0), 'must be positive'),
        (dict(CS, upgrade_command='/nas/sbin/nas_upgrade -cs -to {version} {movers}'), 'placeholder {movers}'),
    ]:
        station.lines.clear()
        r = run_module(up, args)
        assert r.failed and message in r['msg'], (args, r['msg'])
        assert station.lines == [] and r['commands'] == []


def test_site_command_templates(run_module, station):
    r = run_module(up, dict(CS, upgrade_command='/nas/sbin/nas_upgrade   -cs -to  {version}',
                            status_command='/nas/sbin/nas_upgrade -status'))
    assert not r.failed and sent(station, '-cs -to') == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1']
    r = run_module(up, dict(DM, upgrade_command='/nas/sbin/nas_upgrade -dm {movers} -to {version}'))
    assert not r.failed and sent(station, '-dm') == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -dm ALL -to 5.1']


@pytest.mark.parametrize('state', ['running', 'failed'])
def test_another_running_upgrade_blocks_the_movers(run_module, station, state):
    upgrade_station(run_module, station)
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -dm server_2 -to 5.1')
    if state == 'failed':
        station.movers['server_2'].panicked = True
        station.dm_status['server_2']['state'] = 'failed'
        station.dm_job = None
    r = run_module(up, dict(DM, movers=['server_3']))
    if state == 'running':
        assert r.failed and 'another upgrade is running (server_2)' in r['msg']
        assert len(sent(station, '-dm')) == 1
    else:
        # a failed job elsewhere does not block server_3
        assert not r.failed and station.movers['server_3'].version == 'T5.1.23.2'


# -- wait=false: start, return, and a later run waits ---------------------------------------------

def test_start_without_waiting_then_a_second_run_waits_for_it(run_module, station):
    r = run_module(up, dict(CS, wait=False), diff=True)
    assert not r.failed and r['changed'] is True and r['running'] is True
    assert r['before'] == {'control_station': '4.2.16-5'} and r['after'] == {'control_station': '5.1'}
    assert r['planned'] == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1'] == sent(station, '-cs -to')
    assert r['progress'] == ['control station: upgrade 4.2.16-5 -> 5.1 started']
    # it did not poll: no status read, no time spent, the station still upgrading
    assert sent(station, '-status') == [] and station.now == 0 and not station.cs_consistent()

    station.advance(4)
    waited = run_module(up, CS)
    assert not waited.failed and waited['changed'] is True, waited.get('msg')
    assert 'running' not in waited
    assert waited['after'] == {'control_station': '5.1.23-2'} and station.cs_version == '5.1.23-2'
    assert waited['progress'][0] == 'control station: an upgrade 4.2.16-5 -> 5.1.23-2 is already running, waiting for it'
    assert waited['progress'][-1] == 'control station: done step 5/5 restart_services'
    assert len(sent(station, '-cs -to')) == 1


def test_no_wait_finds_a_running_upgrade_and_sends_nothing(run_module, station):
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    station.advance(4)
    r = run_module(up, dict(CS, wait=False))
    assert not r.failed and r['changed'] is True and r['running'] is True
    assert r['progress'] == ['control station: an upgrade 4.2.16-5 -> 5.1.23-2 is already running']
    assert len(sent(station, '-cs -to')) == 1 and r['commands'] == ['env NAS_DB=/nas /nas/bin/nas_version']


def test_no_wait_on_the_target_changes_nothing(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, dict(CS, wait=False))
    assert r['changed'] is False and r['running'] is False
    assert r['commands'] == ['env NAS_DB=/nas /nas/bin/nas_version']


def test_no_wait_check_mode_sends_nothing(run_module, station):
    r = run_module(up, dict(CS, wait=False), check_mode=True)
    assert r['changed'] is True and r['running'] is False and sent(station, 'nas_upgrade') == []


def test_a_failed_upgrade_is_seen_by_the_run_that_waits(run_module, station):
    station.faults['cs_upgrade_fail'] = 3
    r = run_module(up, dict(CS, wait=False))
    assert not r.failed and r['running'] is True
    # the wait finds the upgrade still running and sees it fail
    r = run_module(up, CS)
    assert r.failed and 'failed at step 3/5 install_packages' in r['msg'] and 'state=rolled_back' in r['msg']
    assert r['failed_step'] == {'component': 'cs', 'step': 3, 'steps': 5, 'step_name': 'install_packages'}
    # a wait that comes after the failure fails too, naming the failed step, and sends nothing new
    for wait in (True, False):
        again = run_module(up, dict(CS, wait=wait))
        assert again.failed and 'failed at step 3/5 install_packages' in again['msg'], again['msg']
        assert again['failed_step']['step'] == 3
    assert len(sent(station, '-cs -to')) == 1


def test_the_run_that_waits_times_out(run_module, station):
    run_module(up, dict(CS, wait=False))
    r = run_module(up, dict(CS, timeout=5))
    assert r.failed and r['timed_out'] is True and 'did not finish within 5s' in r['msg']


def test_rollback_without_waiting_then_waiting(run_module, station):
    upgrade_station(run_module, station)
    station.lines.clear()
    rollback = {'component': 'control_station', 'state': 'rolled_back', 'version': '4.2', 'poll_interval': 1}
    r = run_module(up, dict(rollback, wait=False))
    assert not r.failed and r['changed'] is True and r['running'] is True
    # one status read (what to roll back), the rollback command, no poll
    assert r['after'] == {'control_station': '4.2'} and len(sent(station, '-status')) == 1 and station.cs_job
    again = run_module(up, dict(rollback, wait=False))
    assert again['running'] is True and again['progress'] == ['control station: a rollback is already running']
    waited = run_module(up, rollback)
    assert not waited.failed and waited['changed'] is True and station.cs_version == '4.2.16-5'
    assert 'a rollback is already running, waiting for it' in waited['progress'][0]
    assert len(sent(station, '-rollback')) == 1


def test_data_movers_without_waiting_then_waiting(run_module, station):
    upgrade_station(run_module, station)
    r = run_module(up, dict(DM, wait=False))
    assert not r.failed and r['changed'] is True and r['running'] is True
    assert r['after'] == {'server_2': '5.1', 'server_3': '5.1'}
    assert sent(station, '-dm') == ['env NAS_DB=/nas /nas/sbin/nas_upgrade -dm ALL -to 5.1']
    waited = run_module(up, DM)
    assert not waited.failed and waited['changed'] is True, waited.get('msg')
    assert waited['after'] == {'server_2': 'T5.1.23.2', 'server_3': 'T5.1.23.2'}
    assert 'is already running, waiting for it' in waited['progress'][0]
    assert len(sent(station, '-dm')) == 1


def test_no_wait_with_several_named_movers_is_refused_before_sending(run_module, station):
    upgrade_station(run_module, station)
    station.lines.clear()
    r = run_module(up, dict(DM, wait=False, movers=['server_2', 'server_3']))
    assert r.failed and 'wait=false starts one upgrade command' in r['msg'] and station.lines == []
    r = run_module(up, dict(DM, wait=False, movers=['server_3']))
    assert not r.failed and r['running'] is True and r['after'] == {'server_3': '5.1'}
