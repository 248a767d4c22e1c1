# The celerra_upgrade role's entry points run by ansible-playbook against the loopback SSH Control Station,
# whose clock runs on its own here (an upgrade takes a few real seconds): the waits show progress (each async
# poll) and never "FAILED - RETRYING"; the upgrade started by control_station_start is joined; a failed
# upgrade fails the join, so the rescue rolls it back; a start that failed is reported by the join; a job
# left running by an interrupted run is waited for by the checks.
from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
import yaml

from celerra_loopback import LoopbackControlStation
from ssh_keys import public_line
from test_celerra_docs import BIN, REPO, ansible_env

SPEED = 3.0    # fake station seconds per real second: a Control Station upgrade (5 steps of 3 s) takes 5 s


class RunningStation(object):
    """The loopback station with a clock of its own, and every command and tick under one lock.

    The clock starts with the first command that holds `start_on` (at once when None): a test can have the
    play find a job still running whatever the time ansible-playbook takes to get there.
    """

    def __init__(self, start_on=None):
        self.lab = LoopbackControlStation()
        self.station = self.lab.station
        self.lock = threading.RLock()
        self.start_on = start_on
        self.started = threading.Event()
        if start_on is None:
            self.started.set()
        execute = self.station.execute

        def locked_execute(line):
            if self.start_on and self.start_on in line:
                self.started.set()
            with self.lock:
                return execute(line)
        self.station.execute = locked_execute
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run_clock, daemon=True)
        self.thread.start()

    def run_clock(self):
        while not self.started.wait(0.05):
            if self.stop.is_set():
                return
        last = time.monotonic()
        while not self.stop.wait(0.05):
            now = time.monotonic()
            with self.lock:
                self.station.advance((now - last) * SPEED)
            last = now

    def sent(self, word):
        return [line for line in self.station.lines if word in line]

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.lab.close()


@pytest.fixture
def running(request):
    station = RunningStation(**getattr(request, 'param', {}))
    yield station
    station.close()


def play(tmp_path, running, tasks, check=False, extra_vars=None):
    known_hosts = tmp_path / 'known_hosts'
    known_hosts.write_text(public_line('[127.0.0.1]:%d' % running.lab.port, running.lab.host_key))
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'name': 'celerra_upgrade role against the loopback Control Station',
        'hosts': 'localhost',
        'connection': 'local',
        'gather_facts': False,
        'vars': {'celerra_cs_host': '127.0.0.1', 'celerra_cs_port': running.lab.port,
                 'celerra_cs_password': running.lab.password, 'celerra_cs_known_hosts': str(known_hosts),
                 'celerra_upgrade_poll_interval': 1, **(extra_vars or {})},
        'tasks': tasks,
    }], sort_keys=False))
    env = ansible_env(tmp_path)
    env.update(ANSIBLE_ASYNC_DIR=str(tmp_path / 'async'), ANSIBLE_CALLBACK_RESULT_FORMAT='json')
    out = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', str(playbook)] + (['--check'] if check else []),
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    output = out.stdout + out.stderr
    assert running.lab.password not in output
    # normal waiting is progress, not failed attempts, and no deprecation comes from these modules
    assert 'FAILED - RETRYING' not in output and 'DEPRECATION' not in output, output
    return out.returncode, output


def role(entry, **extra):
    task = {'name': 'celerra_upgrade %s' % entry,
            'ansible.builtin.include_role': {'name': 'mailops.window.celerra_upgrade', 'tasks_from': entry}}
    task.update(extra)
    return task


# The window's shape: start, other work meanwhile, join in a block whose rescue rolls back, then the movers.
WINDOW = [
    role('control_station_start'),
    {'name': 'Other work meanwhile', 'ansible.builtin.command': {'argv': ['sleep', '1']}, 'changed_when': False},
    {'name': 'Join, rolling back on failure',
     'block': [role('control_station_join')],
     'rescue': [
         {'name': 'Remember the failure',
          'ansible.builtin.set_fact': {'cs_failure': '{{ ansible_failed_result.msg }}'}},
         {'name': 'Say it', 'ansible.builtin.debug': {'msg': 'CS FAILURE: {{ cs_failure }}'}},
         role('rollback'),
     ]},
    role('data_movers', when='cs_failure is not defined'),
]


def test_window_shape_upgrades_with_progress(tmp_path, running):
    rc, output = play(tmp_path, running, WINDOW)
    assert rc == 0, output
    assert running.station.cs_version == '5.1.23-2'
    assert all(m.version == 'T5.1.23.2' for m in running.station.movers.values())
    # one upgrade command each, and the waits were polled by the play
    assert len(running.sent('-cs -to')) == 1 and len(running.sent('-dm ALL')) == 1
    # the movers' upgrade (more than 3 s here) was polled by the play
    movers = output.split('Upgrade the data movers (install, then a reboot each) to 5.1]')[1].split('TASK')[0]
    assert 'ASYNC POLL on localhost' in movers and 'changed: [localhost]' in movers, output
    assert 'CS FAILURE' not in output


def test_failed_upgrade_fails_the_join_and_is_rolled_back(tmp_path, running):
    running.station.faults['cs_upgrade_fail'] = 3
    rc, output = play(tmp_path, running, WINDOW)
    assert rc == 0, output
    assert 'CS FAILURE: control station upgrade 4.2.16-5 -> 5.1.23-2 failed at step 3/5 install_packages' in output \
        or ('CS FAILURE: the control station is inconsistent' in output and 'failed at step 3/5' in output), output
    assert running.station.cs_consistent() and running.station.cs_version == '4.2.16-5'
    assert len(running.sent('-cs -rollback')) == 1 and running.sent('-dm') == []
    assert all(m.version == 'T4.2.16.5' for m in running.station.movers.values())


# The clock starts with the join's first status read: the join always finds the upgrade running.
@pytest.mark.parametrize('running', [{'start_on': 'nas_upgrade -status'}], indirect=True)
def test_join_polls_the_upgrade_started_before(tmp_path, running):
    rc, output = play(tmp_path, running, [role('control_station_start'), role('control_station_join')])
    assert rc == 0, output
    join = output.split('Wait for the Control Station upgrade to 5.1]')[1].split('TASK')[0]
    assert 'ASYNC POLL on localhost' in join and 'changed: [localhost]' in join, output
    assert running.station.cs_version == '5.1.23-2' and len(running.sent('-cs -to')) == 1


def test_start_that_failed_is_reported_by_the_join(tmp_path, running):
    running.station.faults['lock_held'] = 1
    rc, output = play(tmp_path, running, WINDOW[:3])
    assert rc == 0, output
    assert 'CS FAILURE: Error 2201: nas_upgrade : unable to acquire lock(s), try later' in output, output
    assert running.sent('-cs -to') and running.station.cs_version == '4.2.16-5'


@pytest.mark.parametrize('running', [{'start_on': 'nas_upgrade -status'}], indirect=True)
def test_checks_wait_for_a_job_left_running(tmp_path, running):
    running.station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    rc, output = play(tmp_path, running, [role('checks')])
    assert rc == 0, output
    assert running.station.cs_version == '5.1.23-2' and running.station.cs_consistent()
    assert 'ASYNC POLL on localhost' in output


def test_check_mode_sends_nothing_and_runs_no_job(tmp_path, running):
    tasks = [role('checks'), role('control_station_start'), role('control_station_join'), role('control_station'),
             role('data_movers'), role('rollback')]
    rc, output = play(tmp_path, running, tasks, check=True)
    assert rc == 0, output
    assert [line for line in running.station.lines if 'nas_upgrade' in line and '-status' not in line] == []
    assert 'ASYNC' not in output and running.station.cs_version == '4.2.16-5'
    assert 'Check mode: the data movers would be upgraded to 5.1 after the Control Station' in output


# The join's own poll reads two garbled or empty statuses in a row and gives up (status_unknown); the clock
# starts only then, so the join always finds the upgrade running. The rescue's rollback reads the status
# first: it finds the upgrade running (and waits for it to end) or already completed, and rolls nothing back.
@pytest.mark.parametrize('running', [{'start_on': 'the second hiccup'}], indirect=True)
def test_rescue_after_an_unreadable_status_rolls_nothing_back(tmp_path, running):
    station = running.station
    station.status_hiccups = {2: 'garbled', 3: 'empty'}

    def start_clock(argv):
        if argv[-1] == '-status' and station.status_reads >= 2:
            running.started.set()
    station.before_command = start_clock
    rc, output = play(tmp_path, running, WINDOW, extra_vars={'celerra_upgrade_poll_failures': 2})
    assert rc != 0, output
    assert 'CS FAILURE: control station upgrade: the status could not be read 2 times in a row' in output, output
    assert 'nothing rolled back' in output and '"upgrade_completed": true' in output, output
    assert running.sent('-cs -rollback') == [] and running.sent('-dm') == []
    assert running.station.cs_consistent() and running.station.cs_version == '5.1.23-2'


# A rollback asked for while the upgrade runs waits for its end and rolls back only once it has failed.
@pytest.mark.parametrize('running', [{'start_on': 'nas_upgrade -status'}], indirect=True)
def test_rollback_waits_for_the_running_upgrade_to_fail(tmp_path, running):
    station = running.station
    station.faults['cs_upgrade_fail'] = 5
    station.execute('env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1')
    states = []

    def hook(argv):
        if argv[-1] == '-rollback':
            station._tick()
            states.append(station.cs_status['state'])
    station.before_command = hook
    rc, output = play(tmp_path, running, [role('rollback')])
    assert rc == 0, output
    assert states == ['failed'] and len(running.sent('-cs -rollback')) == 1
    assert station.cs_consistent() and station.cs_version == '4.2.16-5'
    rollback = output.split('Roll the Control Station back, an upgrade still running waited for first, to 4.2]')[1]
    assert 'ASYNC POLL on localhost' in rollback.split('TASK')[0], output
