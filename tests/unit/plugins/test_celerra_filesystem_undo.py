# celerra_filesystem undoes a move that fails after the file system left its old mover: the mount or
# the export on the new mover fails (the mover's agent does not answer, the connection is lost), the
# module puts the file system back where it was, as it was, and fails saying so; when the undo fails
# too, it says where the file system is and what brings it back. Before the unmount, only an unexport that
# ran is undone (the unmount refused: the file system is exported again where it still is).
from __future__ import annotations

import re

import pytest

from ansible_collections.mailops.window.plugins.modules import celerra_filesystem as fs_module

HOSTS = {'rw': ['mta1', 'mta2'], 'root': ['mta1', 'mta2'], 'access': ['mta1', 'mta2']}
NOT_RESPONDING = 'Error 2102: server_%d : data mover not responding (celerra-dm%d:5081: Connection refused)'
MOVE = ['server_export server_2 -unexport -perm /fs_store1', 'server_umount server_2 -perm fs_store1']
BACK = ['server_mount server_2 -option rw fs_store1 /fs_store1',
        'server_export server_2 -Protocol nfs -option rw=mta1:mta2,root=mta1:mta2,access=mta1:mta2 /fs_store1']


def short(lines):
    """`env NAS_DB=/nas /nas/bin/server_mount server_2` -> `server_mount server_2`."""
    return [re.sub(r'^env NAS_DB=/nas /nas/s?bin/', '', line) for line in lines]


def sent_changes(station):
    """The change commands the station answered `done`, shortened."""
    return [' '.join([a[0].rsplit('/', 1)[1]] + a[1:]) for a in station.changes]


def where(station, fs):
    mover, entry = station.mounted_on(fs)
    exports = {m: e[entry[1]] for m, e in station.exports.items() if entry and entry[1] in e}
    return mover, entry, exports


def test_mount_on_the_new_mover_fails_puts_it_back(run_module, station):
    station.faults['not_responding'] = [('server_mount', 'server_3', 'fs_store1')]
    before = where(station, 'fs_store1')
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    # back on server_2, mounted and exported as before; nothing left on server_3
    assert where(station, 'fs_store1') == before == ('server_2', ['fs_store1', '/fs_store1', 'rw'], {'server_2': HOSTS})
    assert sent_changes(station) == MOVE + BACK
    assert r.failed and r['changed'] is True
    assert r['rolled_back'] is True and r['failed_step'] == 'mount'
    assert short(r['changes']) == MOVE
    assert short([r['failed_change']]) == ['server_mount server_3 -option rw fs_store1 /fs_store1']
    assert short(r['rollback_changes']) == BACK and 'failed_rollback_change' not in r
    assert short(r['commands'])[-3:] == ['server_mount server_3 -option rw fs_store1 /fs_store1'] + BACK
    assert r['after'] == r['before'] and r['before']['mover'] == 'server_2'
    # the Celerra's own error, the step, and where the file system is now
    assert r['error_code'] == 2102 and r['rc'] == 2
    assert r['msg'].startswith('moving fs_store1 from server_2 to server_3 failed at the mount on server_3: ')
    assert NOT_RESPONDING % (3, 3) in r['msg']
    assert 'The move was undone: fs_store1 is back on server_2, mounted at /fs_store1 (rw) and exported as before' \
        in r['msg']
    assert 'restore_mail' not in r['msg']


def test_export_on_the_new_mover_fails_undoes_the_mount_and_puts_it_back(run_module, station):
    # fs_store2 sits read-only at /mail2 with its own export options: it goes back exactly so
    old = {'rw': ['mta3'], 'ro': ['mta4'], 'access': ['mta3', 'mta4']}
    station.mounts['server_2'][3] = ['fs_store2', '/mail2', 'ro']
    station.exports['server_2'] = {'/fs_store1': dict(HOSTS), '/mail2': dict(old)}
    station.faults['not_responding'] = [('server_export', 'server_3', '/fs_store2')]
    r = run_module(fs_module, {'name': 'fs_store2', 'mover': 'server_3', 'export': {'rw': ['mta1']}})
    assert where(station, 'fs_store2') == ('server_2', ['fs_store2', '/mail2', 'ro'], {'server_2': old})
    assert station.mounts['server_3'] == [['root_fs_3', '/', 'rw'], ['root_fs_common', '/.etc_common', 'ro']]
    assert station.exports['server_3'] == {}
    assert r.failed and r['rolled_back'] is True and r['failed_step'] == 'export'
    assert short(r['changes']) == ['server_export server_2 -unexport -perm /mail2', 'server_umount server_2 -perm fs_store2',
                                   'server_mount server_3 -option rw fs_store2 /fs_store2']
    assert short(r['rollback_changes']) == [
        'server_umount server_3 -perm fs_store2',
        'server_mount server_2 -option ro fs_store2 /mail2',
        'server_export server_2 -Protocol nfs -option rw=mta3,ro=mta4,access=mta3:mta4 /mail2']
    assert sent_changes(station) == short(r['changes'] + r['rollback_changes'])
    assert r['after'] == r['before'] == {'mover': 'server_2', 'mountpoint': '/mail2', 'mount_options': 'ro',
                                         'exported': True, 'export': dict(old, root=[])}
    assert r['msg'].startswith('moving fs_store2 from server_2 to server_3 failed at the export on server_3: ')
    assert NOT_RESPONDING % (3, 3) in r['msg']
    assert 'fs_store2 is back on server_2, mounted at /mail2 (ro) and exported as before' in r['msg']


def test_connection_lost_before_the_mount_ran_puts_it_back(run_module, station):
    """A mount whose connection broke may or may not have run: the undo unmounts it from the new mover,
    and takes the station's `not mounted` as the mount never ran."""
    station.disconnect_on = ['server_mount server_3 -option']    # lost before the mount reached the station
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert where(station, 'fs_store1') == ('server_2', ['fs_store1', '/fs_store1', 'rw'], {'server_2': HOSTS})
    assert r.failed and r['rolled_back'] is True and r['failed_step'] == 'mount'
    assert short(r['commands'])[-3:] == ['server_umount server_3 -perm fs_store1'] + BACK
    assert short(r['rollback_changes']) == BACK and sent_changes(station) == MOVE + BACK
    assert 'connection reset by peer' in r['msg'] and 'back on server_2' in r['msg']


def test_connection_lost_after_the_mount_ran_unmounts_it_and_puts_it_back(run_module, station, monkeypatch):
    execute = station.execute
    lost = []

    def execute_then_drop(line):
        result = execute(line)
        if 'server_mount server_3 -option' in line and not lost:
            lost.append(line)
            return 'drop'
        return result
    monkeypatch.setattr(station, 'execute', execute_then_drop)
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert where(station, 'fs_store1') == ('server_2', ['fs_store1', '/fs_store1', 'rw'], {'server_2': HOSTS})
    assert lost and r.failed and r['rolled_back'] is True and r['failed_step'] == 'mount'
    assert short(r['rollback_changes']) == ['server_umount server_3 -perm fs_store1'] + BACK
    assert r['connections'] == 2


@pytest.mark.parametrize('faults, failed_step, failed_undo, left, message', [
    # the mount on server_3 fails, then the mount back on server_2 too: on no mover at all
    ([('server_mount', 'server_3', 'fs_store1'), ('server_mount', 'server_2', 'fs_store1')], 'mount',
     'server_mount server_2 -option rw fs_store1 /fs_store1',
     (None, None), 'fs_store1 is on no data mover, so no NFS client can mount it'),
    # the export on server_3 fails, then its unmount there: mounted on server_3, not exported
    ([('server_export', 'server_3', '/fs_store1'), ('server_umount', 'server_3', 'fs_store1')], 'export',
     'server_umount server_3 -perm fs_store1',
     ('server_3', ['fs_store1', '/fs_store1', 'rw']),
     'fs_store1 is mounted on server_3 at /fs_store1 (rw), not exported, so no NFS client can mount it'),
    # back on server_2 but its export there fails: mounted on server_2, not exported
    ([('server_mount', 'server_3', None), ('server_export', 'server_2', None)], 'mount', BACK[1],
     ('server_2', ['fs_store1', '/fs_store1', 'rw']),
     'fs_store1 is mounted on server_2 at /fs_store1 (rw), not exported, so no NFS client can mount it'),
], ids=['on-no-mover', 'mounted-on-the-new-mover', 'mounted-on-the-old-mover'])
def test_undo_fails_too_says_where_it_is_and_what_to_run(run_module, station, faults, failed_step, failed_undo, left,
                                                         message):
    station.faults['not_responding'] = faults
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert station.faults['not_responding'] == []
    assert station.mounted_on('fs_store1') == left
    assert not any('/fs_store1' in exports for exports in station.exports.values())
    assert r.failed and r['changed'] is True
    assert r['rolled_back'] is False and r['failed_step'] == failed_step
    assert short([r['failed_rollback_change']]) == [failed_undo]
    assert r['after'] == {'mover': left[0], 'mountpoint': left[1] and left[1][1], 'mount_options': left[1] and left[1][2],
                          'exported': False, 'export': None}
    # the first failure is the error returned; both are in the message, with where it is and what to run
    assert r['error_code'] == 2102
    assert 'failed at the %s on server_3' % failed_step in r['msg']
    assert 'Undoing it failed too, at ' in r['msg'] and r['msg'].count('data mover not responding') == 2
    assert message in r['msg']
    assert 'ansible-playbook restore_mail.yml (or mailops.window.restore_mail)' in r['msg']
    # the undo commands that did not run are named, to run by hand once the cause is fixed
    assert short([r['msg'].rsplit('run: ', 1)[1]])[0].startswith(failed_undo)


@pytest.mark.parametrize('fault, failed_step, sent, left', [
    # the lock is held: the first change fails, nothing changed
    ('lock', 'unexport', [], None),
], ids=['unexport-fails'])
def test_failure_before_the_unmount_undoes_nothing(run_module, station, fault, failed_step, sent, left):
    station.faults['lock_held'] = 1
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert r.failed and r['rolled_back'] is False and r['failed_step'] == failed_step
    assert 'rollback_changes' not in r and 'failed_rollback_change' not in r
    assert sent_changes(station) == sent and short(r['changes']) == sent
    # nothing was sent after the failed change
    assert short(r['commands'])[-1] == short([r['failed_change']])[0]
    assert station.mounted_on('fs_store1')[0] == 'server_2'
    assert 'undone' not in r['msg'] and 'restore_mail' not in r['msg']
    assert r['msg'].startswith(r['failed_change'] + ' failed: Error ')
    assert r['msg'].endswith(left) if left else r['msg'].endswith('try later')


def test_remount_on_the_same_mover_fails_mounts_it_back_as_it_was(run_module, station):
    station.faults['not_responding'] = [('server_export', 'server_2', '/fs_store1')]
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_2', 'mount_options': 'ro'})
    assert where(station, 'fs_store1') == ('server_2', ['fs_store1', '/fs_store1', 'rw'], {'server_2': HOSTS})
    assert r.failed and r['rolled_back'] is True and r['failed_step'] == 'export'
    assert short(r['rollback_changes']) == ['server_umount server_2 -perm fs_store1'] + BACK
    assert r['msg'].startswith('remounting fs_store1 on server_2 failed at the export on server_2: ')
    assert 'The remount was undone: fs_store1 is back on server_2, mounted at /fs_store1 (rw)' in r['msg']


def test_unknown_outcome_and_its_undo_fails_says_both_places(run_module, station):
    """The connection is lost during the mount on server_3, then server_3 panics: the unmount there fails,
    so the module cannot tell whether the file system is on server_3 or on no mover, and says both."""
    def panic_at_the_undo(argv):
        if argv[2] == '/nas/bin/server_umount' and argv[3] == 'server_3':
            station.movers['server_3'].panicked = True
    station.disconnect_on = ['server_mount server_3 -option']
    station.before_command = panic_at_the_undo
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert station.mounted_on('fs_store1') == (None, None)
    assert r.failed and r['rolled_back'] is False and r['failed_step'] == 'mount'
    assert short([r['failed_rollback_change']]) == ['server_umount server_3 -perm fs_store1']
    assert r['rollback_changes'] == [] and r['after']['mover'] is None
    assert 'Undoing it failed too, at the unmount on server_3: ' in r['msg']
    assert 'Error 2102: server_3 : data mover not ready (reason 7)' in r['msg']
    assert ('fs_store1 is on no data mover (or, if the mount on server_3 ran after all, mounted on server_3 at '
            '/fs_store1 (rw), not exported), so no NFS client can mount it: ansible-playbook restore_mail.yml') in r['msg']
    assert short([r['msg'].rsplit('run: ', 1)[1]])[0].startswith('server_umount server_3 -perm fs_store1; ')


def test_unmount_refused_after_the_unexport_exports_it_again(run_module, station):
    # unexported, then the Celerra refuses the unmount: still mounted on server_2, so it is exported again there
    station.faults['not_responding'] = [('server_umount', 'server_2', 'fs_store1')]
    before = where(station, 'fs_store1')
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert where(station, 'fs_store1') == before
    assert sent_changes(station) == [MOVE[0], BACK[1]]
    assert r.failed and r['changed'] is True and r['rolled_back'] is True and r['failed_step'] == 'umount'
    assert short(r['changes']) == [MOVE[0]] and short(r['rollback_changes']) == [BACK[1]]
    assert r['after'] == r['before']
    assert r['msg'].startswith('moving fs_store1 from server_2 failed at the unmount on server_2: ')
    assert 'The unexport was undone: fs_store1 is still on server_2, mounted at /fs_store1 (rw) and exported as before.' \
        in r['msg']
    assert 'restore_mail' not in r['msg']


def test_unmount_refused_and_the_export_again_fails_says_where_it_is(run_module, station):
    station.faults['not_responding'] = [('server_umount', 'server_2', 'fs_store1'), ('server_export', 'server_2', None)]
    r = run_module(fs_module, {'name': 'fs_store1', 'mover': 'server_3'})
    assert station.mounted_on('fs_store1')[0] == 'server_2'
    assert not any('/fs_store1' in exports for exports in station.exports.values())
    assert r.failed and r['rolled_back'] is False and r['failed_step'] == 'umount'
    assert short([r['failed_rollback_change']]) == [BACK[1]]
    assert 'Exporting it again failed too' in r['msg']
    assert 'fs_store1 is mounted on server_2 at /fs_store1 (rw), not exported, so no NFS client can mount it' in r['msg']
    assert 'ansible-playbook restore_mail.yml (or mailops.window.restore_mail) exports it where it is' in r['msg']
