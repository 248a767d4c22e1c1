# Hiccups while celerra_upgrade polls the Control Station (the fake's clock advances with the module's
# poll sleeps): one empty status, one garbled status, a 2201 lock or a lost SSH session is waited through
# and the upgrade completes with no rollback; failed reads in a row are bounded (poll_failures) and end in
# status_unknown, never in a rollback; a rollback asked for while the upgrade still runs waits for its end,
# rolls back only an upgrade that failed, and leaves alone one that completed.
from __future__ import annotations

import pytest

from ansible_collections.mailops.window.plugins.modules import celerra_upgrade as up

CS = {'component': 'control_station', 'version': '5.1', 'poll_interval': 1}
ROLLBACK = {'component': 'control_station', 'state': 'rolled_back', 'version': '4.2', 'poll_interval': 1}
START = 'env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1'


def sent(station, word):
    return [line for line in station.lines if word in line]


def start_upgrade(station, fail_step=None, run_for=2):
    """An upgrade started by someone else, `run_for` seconds ago (fails at `fail_step` when given)."""
    if fail_step:
        station.faults['cs_upgrade_fail'] = fail_step
    assert station.execute(START).rc == 0
    station.advance(run_for)


def record_state_at_rollback(station):
    """-> list that receives the upgrade's state at the moment each rollback command arrives."""
    seen = []

    def hook(argv):
        if argv[-1] == '-rollback':
            station._tick()
            seen.append(station.cs_status['state'])
    station.before_command = hook
    return seen


# -- the upgrade goes on through hiccups ------------------------------------------------------------

@pytest.mark.parametrize('hiccup', ['empty', 'garbled', 'lock', 'drop'])
def test_one_hiccup_mid_upgrade_is_waited_through(run_module, station, hiccup):
    station.status_hiccups = {3: hiccup}
    r = run_module(up, CS)
    assert not r.failed, r['msg']
    assert r['changed'] is True and station.cs_version == '5.1.23-2'
    assert r['after'] == {'control_station': '5.1.23-2'} and 'status_unknown' not in r
    assert sent(station, '-rollback') == []
    waits = [line for line in r['progress'] if 'control station upgrade: waiting: ' in line]
    assert len(waits) == 1, r['progress']
    assert r['progress'][-1] == 'control station: done step 5/5 restart_services'


def test_every_kind_of_hiccup_in_one_upgrade(run_module, station):
    station.status_hiccups = {2: 'empty', 4: 'garbled', 5: 'lock', 7: 'drop', 8: 'empty'}
    r = run_module(up, CS)
    assert not r.failed, r['msg']
    assert station.cs_version == '5.1.23-2' and station.cs_consistent()
    assert sent(station, '-rollback') == []
    waits = [line for line in r['progress'] if ': waiting: ' in line]
    assert any('unreadable output' in line and 'is empty' in line for line in waits), waits
    assert any('unreadable output' in line and 'unexpected output from nas_upgrade -status' in line for line in waits)
    assert any('Error 2201' in line for line in waits) and any('connection lost' in line for line in waits)
    assert r['connections'] == 2


def test_the_join_of_an_upgrade_started_before_waits_through_hiccups(run_module, station):
    r = run_module(up, dict(CS, wait=False))
    assert r['running'] is True
    station.status_hiccups = {1: 'garbled', 2: 'empty', 3: 'lock', 4: 'drop'}
    r = run_module(up, CS)
    assert not r.failed, r['msg']
    assert station.cs_version == '5.1.23-2' and sent(station, '-rollback') == []


# -- failed reads in a row are bounded --------------------------------------------------------------

def test_consecutive_unreadable_reads_fail_with_status_unknown(run_module, station):
    station.status_hiccups = dict((n, 'empty') for n in range(3, 8))
    r = run_module(up, CS)
    assert r.failed and r['status_unknown'] is True
    assert 'could not be read 5 times in a row' in r['msg'] and 'may still be running' in r['msg'], r['msg']
    assert 'timed_out' not in r
    # the upgrade goes on on the Control Station; nothing was rolled back
    assert station.cs_job is not None and station.cs_status['state'] == 'running'
    assert sent(station, '-rollback') == [] and station.status_reads == 7
    # one progress note per new problem, not one per read
    waits = [line for line in r['progress'] if ': waiting: ' in line]
    assert waits == ['control station upgrade: waiting: unreadable output: the upgrade status is empty '
                     '(command: env NAS_DB=/nas /nas/sbin/nas_upgrade -status)'], waits


def test_poll_failures_sets_the_bound(run_module, station):
    station.status_hiccups = {3: 'empty', 4: 'empty'}
    r = run_module(up, dict(CS, poll_failures=2))
    assert r.failed and r['status_unknown'] is True and 'could not be read 2 times in a row' in r['msg']
    assert station.status_reads == 4 and sent(station, '-rollback') == []


def test_a_good_read_starts_the_count_again(run_module, station):
    # four bad reads, one good, four bad: never five in a row
    kinds = ['empty', 'garbled', 'lock', 'drop']
    station.status_hiccups = dict((n, kinds[i % 4]) for i, n in enumerate((2, 3, 4, 5, 7, 8, 9, 10)))
    r = run_module(up, CS)
    assert not r.failed, r['msg']
    assert station.cs_version == '5.1.23-2' and sent(station, '-rollback') == []


def test_poll_failures_must_be_positive(run_module, station):
    r = run_module(up, dict(CS, poll_failures=0))
    assert r.failed and 'poll_failures must be at least 1' in r['msg']
    assert station.lines == [] and r['commands'] == []


def test_data_movers_wait_through_hiccups(run_module, station):
    assert not run_module(up, CS).failed
    station.status_hiccups = dict((station.status_reads + n, kind)
                                  for n, kind in ((2, 'empty'), (3, 'garbled'), (5, 'drop')))
    r = run_module(up, {'component': 'data_movers', 'version': '5.1', 'poll_interval': 1})
    assert not r.failed, r['msg']
    assert all(m.version == 'T5.1.23.2' for m in station.movers.values())


# -- a rollback never starts while the upgrade runs -------------------------------------------------

def test_rollback_asked_while_the_upgrade_runs_waits_for_it_to_fail(run_module, station):
    start_upgrade(station, fail_step=4)
    states = record_state_at_rollback(station)
    r = run_module(up, ROLLBACK)
    assert not r.failed, r['msg']
    assert r['changed'] is True and r['after'] == {'control_station': '4.2.16-5'}
    # the rollback was sent once, after the upgrade had failed
    assert states == ['failed'] and len(sent(station, '-rollback')) == 1
    assert station.cs_consistent() and station.cs_version == '4.2.16-5'
    assert 'is still running' in r['progress'][0] and 'waiting for it to end before rolling back' in r['progress'][0]
    assert 'control station: failed step 4/5 migrate_nas_db' in r['progress']


def test_rollback_asked_while_the_upgrade_runs_leaves_a_completed_upgrade_alone(run_module, station):
    start_upgrade(station)
    r = run_module(up, ROLLBACK)
    assert r.failed and r['upgrade_completed'] is True and r['changed'] is False
    assert 'completed after all; nothing rolled back' in r['msg'], r['msg']
    assert sent(station, '-rollback') == [] and station.cs_version == '5.1.23-2' and station.cs_consistent()
    assert r['after'] == {'control_station': '5.1.23-2'} and r['before']['control_station'] is None
    assert 'status_unknown' not in r


def test_rollback_waits_through_hiccups_and_never_rolls_back_blind(run_module, station):
    start_upgrade(station, fail_step=3)
    states = record_state_at_rollback(station)
    # the first status read (what to roll back) and some of the wait are spoiled
    station.status_hiccups = {1: 'empty', 2: 'drop', 4: 'garbled', 5: 'lock'}
    r = run_module(up, ROLLBACK)
    assert not r.failed, r['msg']
    assert states == ['failed'] and station.cs_version == '4.2.16-5' and station.cs_consistent()


def test_rollback_with_an_unreadable_status_rolls_nothing_back(run_module, station):
    start_upgrade(station, fail_step=3)
    station.status_hiccups = dict((n, 'garbled') for n in range(1, 6))
    r = run_module(up, ROLLBACK)
    assert r.failed and r['status_unknown'] is True and 'could not be read 5 times in a row' in r['msg']
    assert sent(station, '-rollback') == []


def test_rollback_while_the_upgrade_runs_in_check_mode_does_not_wait(run_module, station):
    start_upgrade(station)
    now = station.now
    r = run_module(up, ROLLBACK, check_mode=True)
    assert not r.failed and r['changed'] is True and r['upgrade_running'] is True
    assert r['planned'] == [] and sent(station, '-rollback') == []
    assert station.now == now and 'it would be waited for, and rolled back only if it fails' in r['progress'][0]


def test_rollback_without_waiting_refuses_a_running_upgrade(run_module, station):
    start_upgrade(station)
    r = run_module(up, dict(ROLLBACK, wait=False))
    assert r.failed and r['upgrade_running'] is True and 'nothing rolled back' in r['msg']
    assert sent(station, '-rollback') == [] and station.cs_status['state'] == 'running'


def test_rollback_of_a_failed_upgrade_is_unchanged(run_module, station):
    # not running when asked: rolled back at once, as before
    start_upgrade(station, fail_step=1, run_for=10)
    assert station.cs_status['state'] == 'failed'
    r = run_module(up, ROLLBACK)
    assert not r.failed and r['changed'] is True and station.cs_version == '4.2.16-5'
    assert 'still running' not in ' '.join(r['progress'])


def test_rollback_completed_false_leaves_a_finished_upgrade_alone(run_module, station):
    assert not run_module(up, CS).failed
    r = run_module(up, dict(ROLLBACK, rollback_completed=False))
    assert r.failed and r['upgrade_completed'] is True and r['changed'] is False
    assert 'has completed' in r['msg'] and 'nothing rolled back' in r['msg'], r['msg']
    assert sent(station, '-rollback') == [] and station.cs_version == '5.1.23-2'
    # the same in check mode; and the default still rolls a finished upgrade back when asked
    r = run_module(up, dict(ROLLBACK, rollback_completed=False), check_mode=True)
    assert r.failed and r['upgrade_completed'] is True
    r = run_module(up, ROLLBACK)
    assert not r.failed and r['changed'] is True and station.cs_version == '4.2.16-5'


def test_rollback_completed_false_still_rolls_back_a_failed_upgrade(run_module, station):
    start_upgrade(station, fail_step=2, run_for=10)
    r = run_module(up, dict(ROLLBACK, rollback_completed=False))
    assert not r.failed and r['changed'] is True and station.cs_version == '4.2.16-5'


def test_rollback_that_times_out_waiting_for_the_upgrade_rolls_nothing_back(run_module, station):
    start_upgrade(station)
    r = run_module(up, dict(ROLLBACK, timeout=5))
    assert r.failed and r['timed_out'] is True and 'nothing rolled back' in r['msg'], r['msg']
    assert sent(station, '-rollback') == [] and station.cs_status['state'] == 'running'
