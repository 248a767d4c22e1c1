# The SSH client: connection retries and their bound, host key policy, commands, errors, poll.
# paramiko.SSHClient is replaced by FakeSSHClient, which checks the host key exactly as paramiko's
# SSHClient.connect does (known entry -> compare, else ask the policy) with real paramiko key objects.
# test_celerra_ssh_loopback.py runs the same paths against a real SSH server on 127.0.0.1.
from __future__ import annotations

import os
import socket
import stat

import paramiko
import pytest

from ansible_collections.mailops.window.plugins.module_utils import _celerra_client as c
from ssh_keys import new_ed25519, public_line


class FakeSSHClient(object):
    """Scripted stand-in for paramiko.SSHClient. Each connect() takes the next outcome of `script`:
    an exception to raise, or the server's host key (then password 'right' is the only one accepted)."""

    script = []
    instances = []

    def __init__(self):
        self._host_keys = paramiko.HostKeys()
        self._policy = None
        self.closed = False
        self.connected = False
        self.kwargs = None
        FakeSSHClient.instances.append(self)

    def load_host_keys(self, filename):
        self._host_keys.load(filename)

    def set_missing_host_key_policy(self, policy):
        self._policy = policy

    def connect(self, hostname, port=22, username=None, password=None, key_filename=None, timeout=None,
                banner_timeout=None, auth_timeout=None, allow_agent=True, look_for_keys=True):
        self.kwargs = dict(hostname=hostname, port=port, username=username, password=password,
                           key_filename=key_filename, timeout=timeout, allow_agent=allow_agent,
                           look_for_keys=look_for_keys)
        assert self._policy is not None, 'connect() before set_missing_host_key_policy()'
        outcome = FakeSSHClient.script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        server_key = outcome
        name = hostname if port == 22 else '[%s]:%d' % (hostname, port)
        known = self._host_keys.lookup(name)
        if known is None:
            self._policy.missing_host_key(self, name, server_key)
        else:
            ours = known.get(server_key.get_name())
            if ours != server_key:
                raise paramiko.BadHostKeyException(hostname, server_key, ours or list(known.values())[0])
        if password != 'right' and key_filename is None:
            raise paramiko.AuthenticationException('Authentication failed.')
        self.connected = True

    def close(self):
        self.closed = True


@pytest.fixture
def fake_ssh(monkeypatch):
    FakeSSHClient.script = []
    FakeSSHClient.instances = []
    monkeypatch.setattr(c.ParamikoSession, 'client_factory', FakeSSHClient)
    return FakeSSHClient


@pytest.fixture
def server_key():
    return new_ed25519()[0]


def make_session(tmp_path, sleeps, **kwargs):
    params = dict(host='127.0.0.1', port=2241, username='nasadmin', password='right',
                  known_hosts=str(tmp_path / 'known_hosts'), connect_timeout=3, sleep=sleeps.append)
    params.update(kwargs)
    return c.ParamikoSession(**params)


def trust(tmp_path, name, key):
    (tmp_path / 'known_hosts').write_text(public_line(name, key))


# -- retries -----------------------------------------------------------------------------------

def test_transient_failures_are_retried_with_exponential_backoff(tmp_path, fake_ssh, server_key):
    trust(tmp_path, '[127.0.0.1]:2241', server_key)
    fake_ssh.script = [
        ConnectionRefusedError(111, 'Connection refused'),
        paramiko.ssh_exception.NoValidConnectionsError({('127.0.0.1', 2241): ConnectionRefusedError()}),
        socket.timeout('timed out'),
        paramiko.SSHException('Error reading SSH protocol banner'),
        ConnectionResetError(104, 'Connection reset by peer'),
        server_key,
    ]
    sleeps = []
    session = make_session(tmp_path, sleeps, connect_retries=5)
    session.connect()
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert session.attempts == 6 and session.connections == 1
    assert [i.closed for i in fake_ssh.instances] == [True] * 5 + [False]
    kwargs = fake_ssh.instances[-1].kwargs
    assert kwargs['timeout'] == 3 and kwargs['allow_agent'] is False and kwargs['look_for_keys'] is False


def test_retries_are_bounded(tmp_path, fake_ssh):
    fake_ssh.script = [EOFError()] * 3
    sleeps = []
    with pytest.raises(c.CelerraConnectionError) as exc:
        make_session(tmp_path, sleeps, connect_retries=2).connect()
    assert sleeps == [1.0, 2.0]
    assert exc.value.transient and 'after 3 attempts' in exc.value.msg
    assert fake_ssh.script == []


@pytest.mark.parametrize('error, expected', [
    (paramiko.AuthenticationException('Authentication failed.'), c.CelerraAuthenticationError),
    (socket.gaierror(-2, 'Name or service not known'), c.CelerraConnectionError),
    (paramiko.SSHException('Incompatible ssh peer (no acceptable kex algorithm)'), c.CelerraConnectionError),
])
def test_permanent_failures_are_not_retried(tmp_path, fake_ssh, error, expected):
    fake_ssh.script = [error, 'never reached']
    sleeps = []
    with pytest.raises(expected) as exc:
        make_session(tmp_path, sleeps).connect()
    assert sleeps == [] and fake_ssh.script == ['never reached']
    assert not exc.value.transient


def test_missing_private_key_fails_before_connecting(tmp_path, fake_ssh):
    with pytest.raises(c.CelerraConnectionError) as exc:
        make_session(tmp_path, [], private_key=str(tmp_path / 'nope')).connect()
    assert 'does not exist' in exc.value.msg and fake_ssh.instances == []


def test_wrong_password_is_not_retried(tmp_path, fake_ssh, server_key):
    trust(tmp_path, '[127.0.0.1]:2241', server_key)
    fake_ssh.script = [server_key, server_key]
    sleeps = []
    with pytest.raises(c.CelerraAuthenticationError) as exc:
        make_session(tmp_path, sleeps, password='wrong').connect()
    assert sleeps == [] and len(fake_ssh.script) == 1
    assert 'nasadmin@127.0.0.1:2241' in exc.value.msg and 'wrong' not in exc.value.msg


# -- host keys ---------------------------------------------------------------------------------

def test_unknown_host_rejected_in_strict_mode(tmp_path, fake_ssh, server_key):
    fake_ssh.script = [server_key, server_key]
    sleeps = []
    with pytest.raises(c.CelerraHostKeyError) as exc:
        make_session(tmp_path, sleeps).connect()
    msg = exc.value.msg
    assert str(tmp_path / 'known_hosts') in msg
    assert server_key.fingerprint in msg and server_key.fingerprint.startswith('SHA256:')
    assert '[127.0.0.1]:2241' in msg and 'accept_new' in msg
    assert sleeps == [] and len(fake_ssh.script) == 1
    assert not (tmp_path / 'known_hosts').exists()
    assert fake_ssh.instances[0].closed


def test_changed_key_rejected_in_both_modes(tmp_path, fake_ssh, server_key):
    old = new_ed25519()[0]
    trust(tmp_path, '[127.0.0.1]:2241', old)
    before = (tmp_path / 'known_hosts').read_text()
    for policy in ('strict', 'accept_new'):
        fake_ssh.script = [server_key]
        with pytest.raises(c.CelerraHostKeyError) as exc:
            make_session(tmp_path, [], host_key_policy=policy).connect()
        assert 'CHANGED' in exc.value.msg and server_key.fingerprint in exc.value.msg
        assert str(tmp_path / 'known_hosts') in exc.value.msg
        assert exc.value.details['reason'] == 'changed'
    assert (tmp_path / 'known_hosts').read_text() == before


def test_accept_new_writes_the_key_then_strict_accepts_it(tmp_path, fake_ssh, server_key):
    path = tmp_path / 'sub' / 'known_hosts'
    fake_ssh.script = [server_key]
    session = make_session(tmp_path, [], host_key_policy='accept_new', known_hosts=str(path))
    session.connect()
    assert path.read_text() == public_line('[127.0.0.1]:2241', server_key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert session.added_host_key == {'host': '[127.0.0.1]:2241', 'key_type': 'ssh-ed25519',
                                      'fingerprint': server_key.fingerprint}
    fake_ssh.script = [server_key]
    strict = make_session(tmp_path, [], known_hosts=str(path))
    strict.connect()
    assert strict.added_host_key is None and strict.connections == 1


def test_accept_new_keeps_existing_entries(tmp_path, fake_ssh, server_key):
    other = new_ed25519()[0]
    path = tmp_path / 'known_hosts'
    path.write_text('# lab hosts\n' + public_line('mta1', other).rstrip('\n'))   # no final newline
    fake_ssh.script = [server_key]
    make_session(tmp_path, [], host_key_policy='accept_new').connect()
    lines = path.read_text().splitlines()
    assert lines == ['# lab hosts', public_line('mta1', other).strip(), public_line('[127.0.0.1]:2241', server_key).strip()]


def test_port_22_and_hashed_entries(tmp_path, fake_ssh, server_key):
    hashed = paramiko.HostKeys.hash_host('cs.lab.example')
    trust(tmp_path, hashed, server_key)
    fake_ssh.script = [server_key]
    session = make_session(tmp_path, [], host='cs.lab.example', port=22)
    session.connect()
    assert fake_ssh.instances[-1].kwargs['port'] == 22
    # the same key known only for port 22 does not vouch for another port
    fake_ssh.script = [server_key]
    with pytest.raises(c.CelerraHostKeyError):
        make_session(tmp_path, [], host='cs.lab.example', port=2241).connect()


def test_fingerprint_matches_openssh_form(server_key):
    assert c.fingerprint(server_key) == server_key.fingerprint
    assert c.known_hosts_name('h', 22) == 'h' and c.known_hosts_name('h', 2241) == '[h]:2241'


# -- commands and errors -----------------------------------------------------------------------

class ScriptedSession(object):
    """Answers run() from a list of (rc, stdout, stderr) or exceptions; records the command lines."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.lines = []
        self.connections = 1
        self.dropped = 0

    def run(self, command, timeout):
        self.lines.append((command, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def drop(self):
        self.dropped += 1

    def close(self):
        pass


class Clock(object):
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def client_with(answers, **kwargs):
    clock = Clock()
    logs = []
    session = ScriptedSession(answers)
    client = c.CelerraClient(host='h', session=session, sleep=clock.sleep, clock=clock, log=logs.append, **kwargs)
    return client, session, clock, logs


def test_command_line_is_env_nas_db_and_quoted():
    client, session, dummy_clock, dummy_logs = client_with([(0, '4.2.16-5\n', '')], command_timeout=7)
    assert client.nas_version()['version'] == '4.2.16-5'
    assert session.lines == [('env NAS_DB=/nas /nas/bin/nas_version', 7)]
    assert client.build('/nas/bin/x', ['a b', "it's", '$(id)']) == \
        "env NAS_DB=/nas /nas/bin/x 'a b' 'it'\"'\"'s' '$(id)'"
    client2, session2, dummy_clock, dummy_logs = client_with([(0, '10 - slot_0 primary control station\n', '')], nas_db='/nasdb')
    client2.getreason()
    assert session2.lines[0][0] == 'env NAS_DB=/nasdb /nasdb/sbin/getreason'


def test_celerra_error_becomes_exception_with_code_and_output(sample):
    client, dummy_session, dummy_clock, dummy_logs = client_with([(2, sample('error_2201.txt'), '')])
    with pytest.raises(c.CelerraCommandError) as exc:
        client.server_mount('server_2', 'fs_store1', '/fs_store1', 'rw')
    e = exc.value
    assert (e.code, e.subject, e.message, e.rc) == (2201, 'server_2', 'unable to acquire lock(s), try later', 2)
    assert e.msg == 'Error 2201: server_2 : unable to acquire lock(s), try later'
    assert e.stdout == sample('error_2201.txt')
    assert e.command == 'env NAS_DB=/nas /nas/bin/server_mount server_2 -option rw fs_store1 /fs_store1'


def test_failure_without_error_line_keeps_the_shell_message():
    client, dummy_session, dummy_clock, dummy_logs = client_with([(127, '', 'bash: /nas/bin/nas_fs: No such file or directory\n')])
    with pytest.raises(c.CelerraCommandError) as exc:
        client.nas_fs_list()
    assert exc.value.code is None and exc.value.rc == 127
    assert 'No such file or directory' in exc.value.msg


def test_unparseable_output_is_an_error():
    client, dummy_session, dummy_clock, dummy_logs = client_with([(0, 'garbage\n', '')])
    with pytest.raises(c.CelerraParseError) as exc:
        client.nas_server_list()
    assert 'nas_server -list' in exc.value.msg and 'env NAS_DB=/nas /nas/bin/nas_server -list' in exc.value.msg


def test_server_version_reports_a_mover_not_ready_instead_of_raising(sample):
    client, dummy_session, dummy_clock, dummy_logs = client_with([(2, sample('server_version_not_ready.txt'), '')])
    movers = client.server_version()
    assert movers['server_3']['ready'] is False and movers['server_2']['ready'] is True


def test_nas_version_reports_5005(sample):
    client, dummy_session, dummy_clock, dummy_logs = client_with([(2, sample('nas_version_5005_failed.txt'), '')])
    station = client.nas_version()
    assert station['consistent'] is False and station['version'] is None
    assert station['upgrade']['step'] == 3 and station['error'].startswith('Error 5005')


def test_checkup_exit_codes_1_and_2_carry_the_report(sample):
    text = sample('nas_checkup.txt').replace('Checking status........................................... Pass',
                                             'Checking status........................................... Fail')
    client, dummy_session, dummy_clock, dummy_logs = client_with([(2, text, '')])
    report = client.nas_checkup()
    assert report['status'] == 'fail' and report['rc'] == 2
    client, dummy_session, dummy_clock, dummy_logs = client_with([(3, text, '')])
    with pytest.raises(c.CelerraCommandError):
        client.nas_checkup()


def test_commands_are_counted():
    client, dummy_session, dummy_clock, dummy_logs = client_with([(0, '4.2.16-5\n', ''), (0, 'server_2 :\n', '')])
    client.nas_version()
    client.server_export_list('server_2')
    assert client.command_list() == ['env NAS_DB=/nas /nas/bin/nas_version',
                                     'env NAS_DB=/nas /nas/bin/server_export server_2 -Protocol nfs -list']
    assert [e['rc'] for e in client.commands] == [0, 0]


def test_export_option_string_order_and_validation():
    assert c.export_option_string({'access': ['a'], 'rw': ['a', 'b'], 'ro': []}) == 'rw=a:b,access=a'
    with pytest.raises(c.CelerraArgumentError):
        c.export_option_string({'rw': ['a,b']})
    with pytest.raises(c.CelerraArgumentError):
        c.export_option_string({'anon': ['0']})
    with pytest.raises(c.CelerraArgumentError):
        c.export_option_string({'rw': 'mta1'})


# -- templates ---------------------------------------------------------------------------------

def test_template_renders_each_word_separately():
    t = c.CommandTemplate('/nas/sbin/nas_upgrade -dm {movers} -to {version}', ('version', 'movers'))
    assert t.render(version='5.1', movers='ALL') == ['/nas/sbin/nas_upgrade', '-dm', 'ALL', '-to', '5.1']
    t = c.CommandTemplate("/opt/site/up --note 'two words' --to={version}", ('version',))
    assert t.render(version='5.1') == ['/opt/site/up', '--note', 'two words', '--to=5.1']


@pytest.mark.parametrize('template', [
    'nas_upgrade -cs -to {version}',                 # not an absolute path
    '/nas/sbin/nas_upgrade -to {version.__class__}',  # attribute access
    '/nas/sbin/nas_upgrade -to {version!r}',          # conversion
    '/nas/sbin/nas_upgrade -to {version:>20}',        # format spec
    '/nas/sbin/nas_upgrade -to {0}',                  # positional
    '/nas/sbin/nas_upgrade -to {password}',           # unknown name
    "/nas/sbin/nas_upgrade 'unbalanced",
    '',
    '$(id)/nas_upgrade',
])
def test_bad_templates_are_refused(template):
    with pytest.raises(c.CelerraArgumentError):
        c.CommandTemplate(template, ('version',))


# -- poll --------------------------------------------------------------------------------------

def status_text(state, step, name, progress):
    return (0, 'component=cs state=%s step=%d/5 step_name=%s from=4.2.16-5 to=5.1.23-2 progress=%d\n'
            % (state, step, name, progress), '')


def cs_check(status):
    cs = status['cs']
    return cs['state'] == 'done', 'cs %s %d' % (cs['state'], cs['step'])


def fetch_status(client):
    from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as p
    return lambda: client.parse(p.parse_upgrade_status, client.run('nas_upgrade', ['-status']), 'status')


def test_poll_tolerates_transient_errors_and_not_ready():
    answers = [
        status_text('running', 1, 'precheck', 0),
        status_text('running', 1, 'precheck', 5),
        c.CelerraConnectionError('connection reset', transient=True),
        (2, 'Error 2102: server_3 : data mover not ready (reason 3)\n', ''),
        c.CelerraTimeoutError('command timed out after 60s'),
        status_text('running', 4, 'migrate_nas_db', 80),
        status_text('done', 5, 'restart_services', 100),
    ]
    client, session, clock, logs = client_with(answers)
    status = client.poll(fetch_status(client), cs_check, timeout=100, interval=5, what='upgrade')
    assert status['cs']['state'] == 'done'
    assert clock.sleeps == [5] * 6
    assert session.dropped == 2      # after the lost connection and after the timeout
    assert client.progress == logs
    assert logs == ['cs running 1', 'upgrade: waiting: connection lost (connection reset)',
                    'upgrade: waiting: Error 2102: server_3 : data mover not ready (reason 3)',
                    'upgrade: waiting: command timed out after 60s', 'cs running 4', 'cs done 5']


def test_poll_stops_on_a_real_error():
    client, dummy_session, clock, dummy_logs = client_with([status_text('running', 1, 'precheck', 0),
                                                           (2, 'Error 2230: nas_upgrade : usage\n', '')])
    with pytest.raises(c.CelerraCommandError) as exc:
        client.poll(fetch_status(client), cs_check, timeout=100, interval=5, what='upgrade')
    assert exc.value.code == 2230 and clock.sleeps == [5]


def test_poll_stops_on_a_permanent_connection_error():
    client, dummy_session, dummy_clock, dummy_logs = client_with([c.CelerraAuthenticationError('authentication failed')])
    with pytest.raises(c.CelerraAuthenticationError):
        client.poll(fetch_status(client), cs_check, timeout=100, interval=5, what='upgrade')


def test_poll_times_out_on_the_clock():
    client, dummy_session, clock, dummy_logs = client_with([status_text('running', 2, 'backup_nas_db', 20)] * 10)
    with pytest.raises(c.CelerraTimeoutError) as exc:
        client.poll(fetch_status(client), cs_check, timeout=12, interval=5, what='upgrade')
    assert clock.sleeps == [5, 5, 2]
    assert 'timed out after 12s' in exc.value.msg and 'cs running 2' in exc.value.msg


def fetch_status_strict(client):
    """As fetch_status, but an empty status is unreadable (as celerra_upgrade reads it)."""
    fetch = fetch_status(client)

    def strict():
        status = fetch()
        if not status:
            raise c.CelerraParseError('the upgrade status is empty')
        return status
    return strict


def test_poll_waits_through_unreadable_output():
    answers = [
        status_text('running', 1, 'precheck', 0),
        (0, '', ''),
        (0, 'component=cs state=runn\n', ''),
        (0, 'component=cs state=runn\n', ''),
        status_text('running', 3, 'install_packages', 50),
        status_text('done', 5, 'restart_services', 100),
    ]
    client, session, clock, logs = client_with(answers)
    status = client.poll(fetch_status_strict(client), cs_check, timeout=100, interval=5, what='upgrade')
    assert status['cs']['state'] == 'done' and clock.sleeps == [5] * 5
    # an unreadable status keeps the session (nothing wrong with it); one note per new problem
    assert session.dropped == 0
    assert len(logs) == 5 and logs[:2] == ['cs running 1', 'upgrade: waiting: unreadable output: the upgrade status is empty']
    assert logs[2].startswith('upgrade: waiting: unreadable output: unexpected output from nas_upgrade -status')
    assert logs[3:] == ['cs running 3', 'cs done 5']


def test_poll_gives_up_after_max_failures_in_a_row():
    answers = [status_text('running', 1, 'precheck', 0)] + [c.CelerraConnectionError('connection reset', transient=True)] * 3
    client, dummy_session, clock, logs = client_with(answers)
    with pytest.raises(c.CelerraPollError) as exc:
        client.poll(fetch_status(client), cs_check, timeout=100, interval=5, what='upgrade', max_failures=3)
    assert 'upgrade: the status could not be read 3 times in a row' in exc.value.msg
    assert 'may still be running on the Control Station' in exc.value.msg
    assert exc.value.details['failures'] == 3 and exc.value.details['last_status'] == 'cs running 1'
    # no sleep after the last failed read, one note for the three
    assert clock.sleeps == [5, 5, 5] and logs == ['cs running 1', 'upgrade: waiting: connection lost (connection reset)']


def test_poll_counts_failures_in_a_row_only():
    lock = (2, 'Error 2201: nas_upgrade : unable to acquire lock(s), try later\n', '')
    answers = [lock, lock, status_text('running', 2, 'backup_nas_db', 30), lock, (0, 'x\n', ''),
               status_text('done', 5, 'restart_services', 100)]
    client, dummy_session, dummy_clock, dummy_logs = client_with(answers)
    status = client.poll(fetch_status(client), cs_check, timeout=100, interval=5, what='upgrade', max_failures=3)
    assert status['cs']['state'] == 'done'


def test_poll_without_a_bound_waits_to_the_deadline():
    client, dummy_session, clock, dummy_logs = client_with([(0, 'x\n', '')] * 10)
    with pytest.raises(c.CelerraTimeoutError) as exc:
        client.poll(fetch_status(client), cs_check, timeout=30, interval=5, what='upgrade', max_failures=None)
    assert 'unreadable output' in exc.value.msg and sum(clock.sleeps) == 30


def test_poll_refuses_a_bound_below_one():
    client, session, dummy_clock, dummy_logs = client_with([])
    with pytest.raises(c.CelerraArgumentError):
        client.poll(fetch_status(client), cs_check, timeout=30, interval=5, what='upgrade', max_failures=0)
    assert session.lines == []


# -- the real channel loop, on a scripted paramiko-like channel --------------------------------

class FakeChannel(object):
    """The parts of paramiko.Channel the session uses; `chunks` arrive one per recv()."""

    def __init__(self, chunks, stderr=b'', rc=0, hang=False):
        import threading
        self.chunks = list(chunks)
        self.stderr = [stderr] if stderr else []
        self.rc = rc
        self.hang = hang
        self.status_event = threading.Event()
        self.timeout = None
        self.command = None
        self.closed = False

    def settimeout(self, t):
        self.timeout = t

    def exec_command(self, command):
        assert self.command is None, 'exec_command twice on one channel'
        self.command = command

    def recv_stderr_ready(self):
        return bool(self.stderr)

    def recv_stderr(self, n):
        return self.stderr.pop(0)

    def recv(self, n):
        assert self.command is not None, 'recv before exec_command'
        if self.chunks:
            return self.chunks.pop(0)
        if self.hang:
            raise socket.timeout()
        if self.rc is not None:
            self.status_event.set()
        return b''

    def recv_exit_status(self):
        return -1 if self.rc is None else self.rc

    def close(self):
        self.closed = True


class FakeTransport(object):
    def __init__(self, channel):
        self.channel = channel

    def is_active(self):
        return True

    def open_session(self, timeout=None):
        return self.channel


def session_with_channel(channel, clock):
    session = c.ParamikoSession(host='h', password='x', clock=clock, sleep=clock.sleep)

    class Client(object):
        def get_transport(self):
            return FakeTransport(channel)

        def close(self):
            pass

    session.client = Client()
    return session


def test_channel_output_stderr_and_exit_status():
    channel = FakeChannel([b'server_2 :\n', b'fs_store1 on /fs_store1 uxfs,perm,rw\n'], stderr=b'warn\n', rc=0)
    session = session_with_channel(channel, Clock())
    assert session.run('cmd', 10) == (0, 'server_2 :\nfs_store1 on /fs_store1 uxfs,perm,rw\n', 'warn\n')
    assert channel.closed and channel.command == 'cmd'


def test_channel_timeout():
    clock = Clock()
    channel = FakeChannel([], hang=True)
    real_recv = channel.recv

    def slow_recv(n):
        clock.now += 0.2      # each blocking read waits its 0.2 s timeout
        return real_recv(n)
    channel.recv = slow_recv
    session = session_with_channel(channel, clock)
    with pytest.raises(c.CelerraTimeoutError) as exc:
        session.run('nas_fs -list', 2)
    assert 'timed out after 2s' in exc.value.msg
    assert 2.0 <= clock.now - 100.0 < 2.5 and channel.closed


def test_channel_closed_without_exit_status_is_a_transient_connection_error():
    channel = FakeChannel([b'partial'], rc=None)
    channel.status_event.set()
    session = session_with_channel(channel, Clock())
    with pytest.raises(c.CelerraConnectionError) as exc:
        session.run('cmd', 10)
    assert exc.value.transient and session.client is None
