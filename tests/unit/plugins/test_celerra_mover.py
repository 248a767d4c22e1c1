# celerra_mover against the fake Control Station (its clock advances with the module's poll sleeps):
# no change on a ready mover, the reboot of a panicked one until it is contacted, a panic again, a
# timeout, a boot in progress waited for, check mode and diff, names refused before anything is sent,
# the Celerra's own error line on a refused reboot; the fake's server_cpu itself; the documentation;
# and a playbook run over real SSH with the action group's module_defaults.
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.mailops.window.plugins.modules import celerra_mover as mv
from celerra_fake import DM_REBOOT_SECONDS, FakeControlStation
from celerra_loopback import LoopbackControlStation
from ssh_keys import public_line

LIST = 'env NAS_DB=/nas /nas/bin/nas_server -list'
REASON = 'env NAS_DB=/nas /nas/sbin/getreason'
REBOOT3 = 'env NAS_DB=/nas /nas/bin/server_cpu server_3 -reboot now'
READY = {'reason_code': 5, 'reason': 'contacted', 'ready': True}
PANIC = {'reason_code': 7, 'reason': 'panic', 'ready': False}
ARGS = {'name': 'server_3', 'poll_interval': 1}

BIN = os.path.dirname(sys.executable)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

HOSTILE = ['server_3;id', 'server_3 ', 'server_3\n', '$(id)', '`id`', 'server_', 'server_x', 'ALL', '-reboot',
           'server_3 -reboot now', "server_3'", '', 'server_3\x00', '../server_3', 'SERVER_3', 'server_-1']


def sent(station, word):
    return [line for line in station.lines if word in line]


def panic(station, mover='server_3'):
    station.movers[mover].panicked = True


# -- state=ready ------------------------------------------------------------------------------------

def test_no_change_when_the_mover_is_ready(run_module, station):
    r = run_module(mv, ARGS, diff=True)
    assert not r.failed and r['changed'] is False and r['rebooted'] is False
    assert r['mover'] == 'server_3' and r['before'] == r['after'] == READY
    assert r['commands'] == [LIST, REASON] and station.changes == [] and station.now == 0
    assert r['diff'] == {'before': dict(READY, mover='server_3'), 'after': dict(READY, mover='server_3')}
    assert r['connections'] == 1 and 'progress' not in r


def test_a_panicked_mover_is_rebooted_until_it_is_contacted(run_module, station):
    panic(station)
    r = run_module(mv, ARGS, diff=True)
    assert not r.failed, r['msg']
    assert r['changed'] is True and r['rebooted'] is True
    assert r['before'] == PANIC and r['after'] == READY
    assert r['diff'] == {'before': dict(PANIC, mover='server_3'), 'after': dict(READY, mover='server_3')}
    assert station.changes == [['/nas/bin/server_cpu', 'server_3', '-reboot', 'now']]
    assert r['commands'][:3] == [LIST, REASON, REBOOT3]
    assert set(r['commands'][3:]) == {REASON}
    # the whole walk, each reason once, to the log and to the return value
    assert r['progress'] == r['_log'] == [
        'server_3: reboot started',
        'server_3: reason 0 (reset)',
        'server_3: reason 1 (DOS booted)',
        'server_3: reason 3 (DART loaded)',
        'server_3: reason 4 (DART ready)',
        'server_3: reason 5 (contacted)',
    ]
    # the poll slept on the fake clock, once a second, until the reboot's 4 s were over
    assert station.now == DM_REBOOT_SECONDS and len(r['commands']) == 3 + DM_REBOOT_SECONDS + 1
    assert station.ready('server_3') and station.ready('server_2')
    # a second run changes nothing
    r = run_module(mv, ARGS)
    assert r['changed'] is False and sent(station, 'server_cpu') == [REBOOT3]


def test_still_panicked_after_the_reboot_fails_naming_reason_7(run_module, station):
    panic(station)
    station.faults['dm_panic'] = 'server_3'    # the reboot panics again
    r = run_module(mv, ARGS)
    assert r.failed and r['rebooted'] is True
    assert r['msg'] == 'server_3 panicked again after the reboot: reason 7 (panic)'
    assert r['before'] == PANIC and r['after'] == PANIC and r['mover'] == 'server_3'
    assert sent(station, 'server_cpu') == [REBOOT3]
    assert r['progress'][-1] == 'server_3: reason 7 (panic)'
    assert 'server_3: reason 0 (reset)' in r['progress']
    # it failed as soon as the panic showed, not at the timeout
    assert station.now < DM_REBOOT_SECONDS


def test_timeout_names_the_mover_and_its_last_reason(run_module, station):
    panic(station)
    r = run_module(mv, dict(ARGS, timeout=2))
    assert r.failed and r['timed_out'] is True and r['rebooted'] is True
    assert r['msg'] == 'server_3 did not become ready within 2s (reboot of server_3): last reason 3 (DART loaded)'
    assert r['after'] == {'reason_code': 3, 'reason': 'DART loaded', 'ready': False}
    assert station.now == 2


def test_connection_lost_while_polling_is_waited_through(run_module, station):
    panic(station)
    station.disconnect_on.extend(['getreason', 'getreason'])   # the first two reads (before the reboot)
    r = run_module(mv, ARGS)
    assert r.failed and 'connection reset' in r['msg']         # a read before the reboot is not retried

    station.disconnect_on[:] = []
    reads = []

    def drop_during_reboot(argv):
        if argv[2].endswith('getreason'):
            reads.append(station.now)
            if len(reads) == 3:
                station.disconnect_on.append('getreason')
    station.before_command = drop_during_reboot
    r = run_module(mv, ARGS)
    assert not r.failed, r['msg']
    assert r['after'] == READY and r['connections'] == 2
    assert any('waiting: connection lost' in line for line in r['progress'])


def test_a_refused_reboot_carries_the_celerra_error_line(run_module, station):
    panic(station)
    station.faults['lock_held'] = 1
    r = run_module(mv, ARGS)
    assert r.failed and r['msg'] == 'Error 2201: server_3 : unable to acquire lock(s), try later'
    assert r['error_code'] == 2201 and r['rc'] == 2 and r['failed_command'] == REBOOT3
    assert station.changes == [] and r['before'] == PANIC and r['mover'] == 'server_3'


def test_a_boot_in_progress_is_waited_for_not_interrupted(run_module, station):
    # server_3 is half way through a reboot someone else started
    station.execute(REBOOT3)
    station.advance(DM_REBOOT_SECONDS / 2)
    station.lines.clear()
    station.changes.clear()
    r = run_module(mv, ARGS)
    assert not r.failed and r['changed'] is False and r['rebooted'] is False
    assert r['before'] == {'reason_code': 3, 'reason': 'DART loaded', 'ready': False} and r['after'] == READY
    assert station.changes == [] and sent(station, 'server_cpu') == []
    assert r['progress'][0] == 'server_3 is booting, reason 3 (DART loaded): waiting for that boot to end'


def test_a_boot_in_progress_that_panics_is_then_rebooted(run_module, station):
    station.faults['dm_panic'] = 'server_3'
    station.execute(REBOOT3)
    station.lines.clear()
    station.changes.clear()
    r = run_module(mv, ARGS)
    assert not r.failed, r['msg']
    assert r['changed'] is True and r['rebooted'] is True and r['after'] == READY
    assert r['before'] == {'reason_code': 0, 'reason': 'reset', 'ready': False}
    assert station.changes == [['/nas/bin/server_cpu', 'server_3', '-reboot', 'now']]
    i = r['progress'].index('server_3: reason 7 (panic)')
    assert r['progress'][i + 1] == 'server_3: reboot started'


# -- state=rebooted ---------------------------------------------------------------------------------

def test_rebooted_always_reboots_and_waits(run_module, station):
    for run in range(2):
        before = len(station.changes)
        r = run_module(mv, dict(ARGS, name='server_2', state='rebooted'))
        assert not r.failed and r['changed'] is True and r['rebooted'] is True
        assert r['before'] == READY and r['after'] == READY
        assert station.changes[before:] == [['/nas/bin/server_cpu', 'server_2', '-reboot', 'now']], run
    assert station.now == 2 * DM_REBOOT_SECONDS and station.ready('server_2')


# -- check mode -------------------------------------------------------------------------------------

def test_check_mode_reports_the_reboot_and_sends_no_change(run_module, station):
    panic(station)
    r = run_module(mv, ARGS, check_mode=True, diff=True)
    assert r['changed'] is True and r['rebooted'] is True
    assert r['before'] == PANIC and r['after'] == READY
    assert r['diff']['before']['reason_code'] == 7 and r['diff']['after']['reason_code'] == 5
    assert r['commands'] == [LIST, REASON] and station.changes == [] and sent(station, 'server_cpu') == []
    assert station.reason('server_3') == 7

    r = run_module(mv, dict(ARGS, name='server_2', state='rebooted'), check_mode=True)
    assert r['changed'] is True and r['rebooted'] is True and sent(station, 'server_cpu') == []

    r = run_module(mv, dict(ARGS, name='server_2'), check_mode=True)
    assert r['changed'] is False and r['rebooted'] is False and sent(station, 'server_cpu') == []


def test_check_mode_does_not_wait_for_a_boot_in_progress(run_module, station):
    station.execute(REBOOT3)
    station.lines.clear()
    r = run_module(mv, ARGS, check_mode=True)
    assert r['changed'] is False and r['rebooted'] is False and station.now == 0
    assert r['commands'] == [LIST, REASON]
    assert 'server_3 is booting, reason 0 (reset); a run outside check mode waits' in json.dumps(r['warnings'])


# -- refused before anything is sent ----------------------------------------------------------------

def test_unknown_mover_fails_before_any_change(run_module, station):
    r = run_module(mv, dict(ARGS, name='server_9'))
    assert r.failed and r['msg'] == 'unknown data mover server_9 (the Control Station has server_2, server_3)'
    assert r['commands'] == [LIST] and station.changes == [] and r['rebooted'] is False


@pytest.mark.parametrize('value', HOSTILE, ids=[repr(v) for v in HOSTILE])
def test_hostile_mover_names_are_refused_with_nothing_sent(run_module, station, value):
    r = run_module(mv, dict(ARGS, name=value))
    assert r.failed and 'invalid data mover name' in r['msg']
    assert station.lines == [] and r['commands'] == [] and r['connections'] == 0


@pytest.mark.parametrize('args, message', [
    (dict(ARGS, timeout=0), 'must be positive'),
    (dict(ARGS, poll_interval=0), 'must be positive'),
    (dict(ARGS, state='restarted'), 'value of state must be one of'),
    ({'poll_interval': 1}, 'missing required arguments: name'),
])
def test_bad_options_are_refused_with_nothing_sent(run_module, station, args, message):
    r = run_module(mv, args)
    assert r.failed and message in r['msg'] and station.lines == []


# -- the fake's server_cpu is as strict as the lab's ------------------------------------------------

@pytest.mark.parametrize('args, code', [
    ('server_cpu', 2230), ('server_cpu server_3', 2230), ('server_cpu server_3 -reboot', 2230),
    ('server_cpu server_3 -reboot later', 2230), ('server_cpu server_3 -reboot -force now', 2230),
    ('server_cpu ALL -reboot now', 2230), ('server_cpu server_3 -reboot now now', 2230),
    ('server_cpu server_9 -reboot now', 2100),
])
def test_fake_server_cpu_refuses_bad_calls(args, code):
    station = FakeControlStation()
    result = station.execute('env NAS_DB=/nas /nas/bin/' + args)
    assert result.rc == 2 and result.stdout.startswith('Error %d:' % code) and station.changes == []


def test_fake_server_cpu_reboot_states():
    station = FakeControlStation()
    out = station.execute(REBOOT3)
    assert (out.rc, out.stdout) == (0, 'server_3 : reboot in progress\n') and station.reason('server_3') == 0
    again = station.execute(REBOOT3)    # a mover under reboot cannot be rebooted
    assert again.rc == 2 and again.stdout == 'Error 2102: server_3 : data mover not ready (reason 0)\n'
    station.advance(DM_REBOOT_SECONDS)
    assert station.reason('server_3') == 5
    station.faults['lock_held'] = 1
    assert station.execute(REBOOT3).stdout.startswith('Error 2201: server_3 :')
    del station.faults['lock_held']
    station.faults['dm_panic'] = 'server_3'
    monitored = station.execute('env NAS_DB=/nas /nas/bin/server_cpu server_3 -reboot -monitor now')
    assert monitored.rc == 2 and monitored.stdout.splitlines() == [
        'server_3 : reboot in progress 0.0.0.1.1.1.7', 'Error 2102: server_3 : data mover panicked (reason 7)']
    assert 'dm_panic' not in station.faults and station.reason('server_3') == 7
    monitored = station.execute('env NAS_DB=/nas /nas/bin/server_cpu server_3 -reboot -monitor now')
    assert monitored.rc == 0 and monitored.stdout == 'server_3 : reboot in progress 0.0.1.1.3.3.4.4.done\n'


# -- documentation, action group, a real playbook ---------------------------------------------------

def ansible_env(tmp_path):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'),
               ANSIBLE_HOME=str(tmp_path / 'home'), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, MAILOPS_REPORT_DIR=str(tmp_path / 'reports'))
    return env


def test_documentation_renders_and_matches_the_argument_spec(tmp_path, monkeypatch):
    from ansible_collections.mailops.window.plugins.module_utils import _celerra_module

    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), '--json', 'mailops.window.celerra_mover'],
                         capture_output=True, text=True, env=ansible_env(tmp_path), cwd=REPO, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert '[WARNING]' not in out.stderr and 'ERROR' not in out.stderr, out.stderr
    entry = json.loads(out.stdout)['mailops.window.celerra_mover']
    doc = entry['doc']

    captured = {}

    class Stop(Exception):
        pass

    def fake_init(self, argument_spec, supports_check_mode=True, **kwargs):
        captured['spec'] = _celerra_module.merge_argument_spec(argument_spec)
        captured['check_mode'] = supports_check_mode
        raise Stop()
    monkeypatch.setattr(_celerra_module.CelerraModule, '__init__', fake_init)
    with pytest.raises(Stop):
        mv.main()
    spec = captured['spec']
    assert captured['check_mode'] is True and set(doc['options']) == set(spec)
    for option, want in spec.items():
        got = doc['options'][option]
        for key, default in (('type', 'str'), ('default', None), ('choices', None), ('elements', None)):
            assert got.get(key, default) == want.get(key, default), (option, key)
        assert bool(got.get('required')) == bool(want.get('required')), option
    assert set(_celerra_module.COMMON_ARGUMENT_SPEC) < set(doc['options'])
    attrs = doc['attributes']
    assert attrs['check_mode']['support'] == 'full' and attrs['diff_mode']['support'] == 'full'
    assert attrs['action_group']['membership'] == ['mailops.window.celerra']
    assert {'mover', 'before', 'after', 'rebooted', 'commands', 'connections'} <= set(entry['return'])
    examples = yaml.safe_load(entry['examples'])
    assert all('mailops.window.celerra_mover' in e for e in examples)


def test_runtime_lists_the_module_in_the_action_group():
    with open(os.path.join(REPO, 'meta', 'runtime.yml')) as f:
        runtime = yaml.safe_load(f)
    group = runtime['action_groups']['celerra']
    assert group.count('celerra_mover') == 1
    assert {'celerra_info', 'celerra_upgrade', 'celerra_filesystem'} <= set(group)


def test_playbook_over_ssh_with_the_group_defaults(tmp_path):
    lab = LoopbackControlStation()
    station = lab.station
    # the loopback station's clock does not follow real time: each getreason moves it one second on
    station.before_command = lambda argv: station.advance(1) if argv[2].endswith('getreason') else None
    station.movers['server_3'].panicked = True
    try:
        known_hosts = tmp_path / 'known_hosts'
        known_hosts.write_text(public_line('[127.0.0.1]:%d' % lab.port, lab.host_key))
        playbook = tmp_path / 'play.yml'
        playbook.write_text(yaml.safe_dump([{
            'name': 'celerra_mover with group defaults',
            'hosts': 'localhost',
            'connection': 'local',
            'gather_facts': False,
            'module_defaults': {'group/mailops.window.celerra': {
                'host': '127.0.0.1', 'port': lab.port, 'known_hosts': str(known_hosts),
                'password': lab.password}},
            'tasks': [
                {'name': 'would reboot', 'mailops.window.celerra_mover': {'name': 'server_3'},
                 'check_mode': True, 'register': 'c'},
                {'name': 'ready', 'mailops.window.celerra_mover': {'name': 'server_3', 'poll_interval': 0.05},
                 'register': 'r', 'diff': True},
                {'name': 'ready again', 'mailops.window.celerra_mover': {'name': 'server_3'}, 'register': 'a'},
                {'ansible.builtin.assert': {'that': [
                    'c.changed and c.rebooted and c.commands | length == 2',
                    "r.changed and r.rebooted and r.before.reason_code == 7 and r.after.reason == 'contacted'",
                    'not a.changed and not a.rebooted and a.after.ready',
                ]}},
            ],
        }]))
        out = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', str(playbook)],
                             capture_output=True, text=True, env=ansible_env(tmp_path), cwd=REPO, timeout=300,
                             check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert 'ok=4' in out.stdout and 'changed=2' in out.stdout and 'failed=0' in out.stdout
        assert lab.password not in out.stdout + out.stderr
        assert station.ready('server_3') and len([c for c in station.changes if c[0].endswith('server_cpu')]) == 1
        assert lab.connections == 3
    finally:
        lab.close()
