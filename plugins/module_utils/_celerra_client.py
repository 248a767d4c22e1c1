# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH client of the Celerra Control Station CLI (docs/celerra-cli.md).

The Control Station cannot run Ansible modules, so the celerra_* modules run on the controller and
drive its CLI over SSH with paramiko. One CelerraClient is one SSH connection, reused for every
command of a module run. Every argument is validated before anything is sent and quoted with
shlex.quote; every command runs as `env NAS_DB=<nas_db> <nas_db>/bin/<cmd> <args...>`.

Private module of the collection (leading underscore): its interface may change without notice.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import socket
import string
import time

try:
    import paramiko
    HAS_PARAMIKO = True
    PARAMIKO_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without paramiko
    paramiko = None
    HAS_PARAMIKO = False
    PARAMIKO_IMPORT_ERROR = exc

from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as parsers


# Commands of the contract and the directory under NAS_DB each lives in.
COMMANDS = {
    'nas_version': 'bin',
    'server_version': 'bin',
    'nas_server': 'bin',
    'nas_fs': 'bin',
    'server_mount': 'bin',
    'server_umount': 'bin',
    'server_export': 'bin',
    'server_cpu': 'bin',
    'nas_checkup': 'bin',
    'getreason': 'sbin',
    'nas_upgrade': 'sbin',
}

# Anything that reaches the Control Station is quoted; on top of that no argument may hold a
# control character (a newline would end the command line before the shell sees the quote).
_SAFE_ARG_RE = re.compile(r'^[^\x00-\x1f\x7f]*$')
_NAS_DB_RE = re.compile(r'^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$')
_EXECUTABLE_RE = re.compile(r'^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$')

# Codes after which a poll keeps waiting: the mover is rebooting / the lock is held.
NOT_READY = 2102
LOCK_HELD = 2201

# Failed reads in a row after which a poll gives up (a good read starts the count again).
DEFAULT_POLL_FAILURES = 5

_TRANSIENT_SSH_MESSAGES = ('banner', 'eof', 'reset', 'timed out', 'timeout', 'closed', 'no existing session',
                           'unable to connect', 'connection refused')


# ---------------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------------

class CelerraClientError(Exception):
    """Base class; `msg` is what a module shows."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class CelerraArgumentError(CelerraClientError):
    """An argument was refused before anything was sent."""


class CelerraConnectionError(CelerraClientError):
    """The SSH connection could not be made (after the retries, when retried)."""

    def __init__(self, msg, transient=False, **details):
        super().__init__(msg, **details)
        self.transient = transient


class CelerraAuthenticationError(CelerraConnectionError):
    """The Control Station refused the credentials (never retried)."""


class CelerraHostKeyError(CelerraConnectionError):
    """The host key is unknown (strict) or changed (never retried)."""


class CelerraTimeoutError(CelerraClientError):
    """A command did not finish within command_timeout, or a poll within its timeout."""


class CelerraCommandError(CelerraClientError):
    """A command failed: the Celerra's `Error NNNN: subject : message` when it printed one."""

    def __init__(self, msg, command=None, rc=None, stdout='', stderr='', code=None, subject=None, message=None):
        super().__init__(msg, command=command, rc=rc, stdout=stdout, stderr=stderr, code=code,
                         subject=subject, message=message)
        self.command = command
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.code = code
        self.subject = subject
        self.message = message


class CelerraParseError(CelerraClientError):
    """Output not in the contract's format (wraps the parser's error with the command)."""


class CelerraPollError(CelerraClientError):
    """A poll could not read the state it waits for: max_failures failed reads in a row.

    What it waited for may still be going on; `failures`, `last` (the last problem) and
    `last_status` (the last progress line read) are in details.
    """


# ---------------------------------------------------------------------------------------------
# Host keys
# ---------------------------------------------------------------------------------------------

def fingerprint(key):
    """OpenSSH's SHA256 fingerprint of a paramiko key: `SHA256:base64-without-padding`."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return 'SHA256:' + base64.b64encode(digest).decode('ascii').rstrip('=')


def known_hosts_name(host, port):
    """The name under which known_hosts stores a host: `[host]:port` unless the port is 22."""
    return host if int(port) == 22 else '[%s]:%d' % (host, int(port))


class _HostKeyPolicy(object):
    """paramiko MissingHostKeyPolicy: called only when known_hosts has no entry for the host.

    A known host whose key differs is rejected by paramiko itself (BadHostKeyException), which the
    client turns into CelerraHostKeyError; that path never reaches this policy, so accept_new can
    never overwrite a changed key.
    """

    def __init__(self, policy, known_hosts):
        self.policy = policy
        self.known_hosts = known_hosts
        self.added = None

    def missing_host_key(self, client, hostname, key):
        fp = fingerprint(key)
        if self.policy != 'accept_new':
            raise CelerraHostKeyError(
                'host key verification failed: %s is not in %s (it offered %s key %s); add the key to '
                'that file, or set host_key_policy=accept_new to trust it on first use'
                % (hostname, self.known_hosts, key.get_name(), fp),
                fingerprint=fp, known_hosts=self.known_hosts, reason='unknown')
        append_known_host(self.known_hosts, hostname, key)
        self.added = {'host': hostname, 'key_type': key.get_name(), 'fingerprint': fp}


def append_known_host(path, hostname, key):
    """Append one `name type base64` line to known_hosts (created 0600 in a 0700 directory)."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    needs_newline = False
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, 'rb') as f:
            f.seek(-1, os.SEEK_END)
            needs_newline = f.read(1) != b'\n'
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, 'a') as f:
        if needs_newline:
            f.write('\n')
        f.write('%s %s %s\n' % (hostname, key.get_name(), key.get_base64()))


# ---------------------------------------------------------------------------------------------
# The SSH session (paramiko)
# ---------------------------------------------------------------------------------------------

def _is_transient(exc):
    """Connection problems worth another try: refused, reset, timeouts, EOF, a missing banner."""
    if HAS_PARAMIKO:
        if isinstance(exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException)):
            return False
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return True
    if isinstance(exc, CelerraHostKeyError):
        return False
    if isinstance(exc, (socket.timeout, TimeoutError, ConnectionError, EOFError)):
        return True
    if isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, PermissionError)):
        # socket.gaierror and friends: a name that does not resolve is not going to resolve on retry
        return not isinstance(exc, socket.gaierror)
    if HAS_PARAMIKO and isinstance(exc, paramiko.SSHException):
        text = str(exc).lower()
        return any(word in text for word in _TRANSIENT_SSH_MESSAGES)
    return False


class ParamikoSession(object):
    """One SSH connection to the Control Station; `run()` executes one command line on it."""

    client_factory = None  # tests inject a fake SSHClient class here

    def __init__(self, host, port=22, username='nasadmin', password=None, private_key=None,
                 known_hosts='~/.ssh/known_hosts', host_key_policy='strict', connect_timeout=10,
                 connect_retries=4, backoff=1.0, max_backoff=8.0, sleep=time.sleep, clock=time.monotonic,
                 log=None):
        if not HAS_PARAMIKO:
            raise CelerraConnectionError('paramiko is required on the controller: %s' % PARAMIKO_IMPORT_ERROR)
        self.host = host
        self.port = int(port)
        self.username = username
        self.password = password
        self.private_key = os.path.expanduser(private_key) if private_key else None
        self.known_hosts = os.path.expanduser(known_hosts or '~/.ssh/known_hosts')
        self.host_key_policy = host_key_policy
        self.connect_timeout = connect_timeout
        self.connect_retries = connect_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.clock = clock
        self.log = log or (lambda msg: None)
        self.client = None
        self.connections = 0
        self.attempts = 0
        self.added_host_key = None

    # -- connection ---------------------------------------------------------------------------
    def _new_client(self):
        factory = self.client_factory or paramiko.SSHClient
        return factory()

    def _connect_once(self):
        client = self._new_client()
        if os.path.exists(self.known_hosts):
            try:
                client.load_host_keys(self.known_hosts)
            except (IOError, paramiko.SSHException, ValueError) as exc:
                raise CelerraHostKeyError('cannot read known_hosts file %s: %s' % (self.known_hosts, exc),
                                          known_hosts=self.known_hosts, reason='unreadable')
        policy = _HostKeyPolicy(self.host_key_policy, self.known_hosts)
        client.set_missing_host_key_policy(policy)
        kwargs = dict(hostname=self.host, port=self.port, username=self.username,
                      timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                      auth_timeout=self.connect_timeout, allow_agent=False, look_for_keys=False)
        if self.password:
            kwargs['password'] = self.password
        if self.private_key:
            kwargs['key_filename'] = self.private_key
        try:
            client.connect(**kwargs)
        except BaseException:
            try:
                client.close()
            except Exception:
                pass
            raise
        self.added_host_key = policy.added
        # Many small request/answer exchanges: do not let Nagle's algorithm hold them back.
        transport = client.get_transport() if hasattr(client, 'get_transport') else None
        sock = getattr(transport, 'sock', None)
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return client

    def connect(self):
        """Connect, retrying transient failures with exponential backoff (bounded)."""
        if self.client is not None:
            return
        if self.private_key and not os.path.isfile(self.private_key):
            raise CelerraConnectionError('private_key %s does not exist or is not a file' % self.private_key)
        delay = self.backoff
        last = None
        for attempt in range(1, self.connect_retries + 2):
            self.attempts += 1
            try:
                self.client = self._connect_once()
                self.connections += 1
                return
            except CelerraHostKeyError:
                raise
            except paramiko.BadHostKeyException as exc:
                raise CelerraHostKeyError(
                    'host key verification failed: the key of %s CHANGED; %s holds another key for it and '
                    'the host now offers %s key %s. If the change is expected, remove the old entry from '
                    'that file (ssh-keygen -R); host_key_policy=accept_new never replaces a changed key'
                    % (known_hosts_name(self.host, self.port), self.known_hosts, exc.key.get_name(),
                       fingerprint(exc.key)),
                    fingerprint=fingerprint(exc.key), known_hosts=self.known_hosts, reason='changed')
            except paramiko.AuthenticationException as exc:
                raise CelerraAuthenticationError(
                    'authentication to %s@%s:%d failed: %s' % (self.username, self.host, self.port, exc))
            except Exception as exc:
                if not _is_transient(exc):
                    raise CelerraConnectionError('cannot connect to %s:%d: %s' % (self.host, self.port, exc))
                last = exc
                if attempt > self.connect_retries:
                    break
                self.log('celerra: connection to %s:%d failed (%s), retry %d/%d in %.1fs'
                         % (self.host, self.port, exc, attempt, self.connect_retries, delay))
                self.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise CelerraConnectionError(
            'cannot connect to %s:%d after %d attempts: %s' % (self.host, self.port, self.connect_retries + 1, last),
            transient=True)

    def close(self):
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def drop(self):
        """Forget a broken connection; the next run() reconnects."""
        self.close()

    # -- commands -----------------------------------------------------------------------------
    def run(self, command, timeout):
        """Run one command line; -> (rc, stdout, stderr). Raises CelerraTimeoutError past timeout."""
        self.connect()
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            self.drop()
            raise CelerraConnectionError('the SSH connection to %s:%d is closed' % (self.host, self.port),
                                         transient=True)
        try:
            channel = transport.open_session(timeout=self.connect_timeout)
        except Exception as exc:
            self.drop()
            raise CelerraConnectionError('cannot open a channel to %s:%d: %s' % (self.host, self.port, exc),
                                         transient=_is_transient(exc) or isinstance(exc, paramiko.SSHException))
        try:
            return self._exchange(channel, command, timeout)
        except (CelerraClientError, KeyboardInterrupt):
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.drop()
            raise CelerraConnectionError('the connection to %s:%d broke during %s: %s'
                                         % (self.host, self.port, command, exc), transient=True)
        finally:
            try:
                channel.close()
            except Exception:
                pass

    def _exchange(self, channel, command, timeout):
        deadline = self.clock() + timeout
        out, err = [], []
        # Short blocking reads: a hung command is noticed within 0.2 s of its deadline.
        channel.settimeout(0.2)
        channel.exec_command(command)
        stdout_eof = False
        while True:
            while channel.recv_stderr_ready():
                err.append(channel.recv_stderr(65536))
            if not stdout_eof:
                try:
                    data = channel.recv(65536)
                except socket.timeout:
                    data = None
                if data:
                    out.append(data)
                elif data == b'':
                    stdout_eof = True
            if stdout_eof and channel.status_event.wait(0.2):
                break
            if self.clock() >= deadline:
                raise CelerraTimeoutError('command timed out after %ss: %s' % (timeout, command),
                                          command=command, stdout=_decode(out), stderr=_decode(err))
        while channel.recv_stderr_ready():
            err.append(channel.recv_stderr(65536))
        rc = channel.recv_exit_status()
        if rc == -1:
            # paramiko's value when the channel closed without an exit status (connection lost)
            self.drop()
            raise CelerraConnectionError('the connection closed before %s returned an exit status' % command,
                                         transient=True)
        return rc, _decode(out), _decode(err)


def _decode(chunks):
    return b''.join(chunks).decode('utf-8', errors='replace')


# ---------------------------------------------------------------------------------------------
# The client: validation, quoting, errors, poll
# ---------------------------------------------------------------------------------------------

class Arg(object):
    """Typed arguments: validated when the command is built, quoted when it is sent."""

    @staticmethod
    def mover(value, allow_all=False):
        if not parsers.is_mover(value, allow_all=allow_all):
            raise CelerraArgumentError('invalid data mover name %r: expected server_N%s'
                                       % (value, ' or ALL' if allow_all else ''))
        return value

    @staticmethod
    def fs(value):
        if not parsers.is_fs_name(value):
            raise CelerraArgumentError('invalid file system name %r: expected %s' % (value, parsers.FS_NAME_RE.pattern))
        return value

    @staticmethod
    def path(value):
        if not parsers.is_path(value):
            raise CelerraArgumentError('invalid path %r: expected "/" and one name matching %s'
                                       % (value, parsers.FS_NAME_RE.pattern))
        return value

    @staticmethod
    def hosts(values, what='host'):
        if isinstance(values, str) or not isinstance(values, (list, tuple)):
            raise CelerraArgumentError('%s list must be a list, got %r' % (what, values))
        for value in values:
            if not parsers.is_host(value):
                raise CelerraArgumentError('invalid %s %r: expected a host name or an IPv4 address' % (what, value))
        return list(values)

    @staticmethod
    def family(value):
        if not parsers.is_family(value):
            raise CelerraArgumentError('invalid version %r: expected a family like 5.1 (%s)'
                                       % (value, parsers.FAMILY_RE.pattern))
        return value


def export_option_string(options):
    """{rw: [a, b], root: [a]} -> `rw=a:b,root=a` in the contract's order; hosts validated."""
    parts = []
    for key in parsers.EXPORT_OPTION_KEYS:
        hosts = options.get(key)
        if hosts is None:
            continue
        Arg.hosts(hosts, what='%s host' % key)
        if hosts:
            parts.append('%s=%s' % (key, ':'.join(hosts)))
    unknown = set(options) - set(parsers.EXPORT_OPTION_KEYS)
    if unknown:
        raise CelerraArgumentError('unknown export option(s): %s' % ', '.join(sorted(unknown)))
    return ','.join(parts)


class CommandTemplate(object):
    """A command template option (`/nas/sbin/nas_upgrade -cs -to {version}`) rendered safely.

    The template is split into argv with shlex first; each part is then formatted with the allowed
    placeholders only (no attribute access, no format specs), validated and quoted on its own, so a
    value can never add a word or reach the shell unquoted.
    """

    def __init__(self, template, allowed):
        self.template = template
        self.allowed = tuple(allowed)
        try:
            self.parts = shlex.split(template)
        except ValueError as exc:
            raise CelerraArgumentError('cannot parse command template %r: %s' % (template, exc))
        if not self.parts:
            raise CelerraArgumentError('empty command template')
        if not _EXECUTABLE_RE.fullmatch(self.parts[0]):
            raise CelerraArgumentError('command template %r must start with an absolute path to the command'
                                       % template)
        for part in self.parts:
            for dummy, field, spec, conversion in string.Formatter().parse(part):
                if field is None:
                    continue
                if field not in self.allowed or spec or conversion:
                    raise CelerraArgumentError('command template %r: placeholder {%s} is not one of {%s}'
                                               % (template, field, '}, {'.join(self.allowed)))

    def render(self, **values):
        argv = []
        for part in self.parts:
            try:
                argv.append(part.format(**values))
            except (KeyError, IndexError) as exc:
                raise CelerraArgumentError('command template %r: no value for %s' % (self.template, exc))
        return argv


class CelerraClient(object):
    """Runs the contract's commands on one SSH session and remembers every command it ran."""

    session_class = ParamikoSession
    default_sleep = staticmethod(time.sleep)
    default_clock = staticmethod(time.monotonic)

    def __init__(self, host, port=22, username='nasadmin', password=None, private_key=None,
                 known_hosts='~/.ssh/known_hosts', host_key_policy='strict', connect_timeout=10,
                 command_timeout=60, nas_db='/nas', connect_retries=4, log=None, session=None,
                 sleep=None, clock=None):
        if not _NAS_DB_RE.fullmatch(nas_db or '') or any(part in ('.', '..') for part in nas_db.split('/')):
            raise CelerraArgumentError('invalid nas_db %r: expected an absolute path without . or ..' % (nas_db,))
        if host_key_policy not in ('strict', 'accept_new'):
            raise CelerraArgumentError('invalid host_key_policy %r' % (host_key_policy,))
        self.nas_db = nas_db
        self.command_timeout = command_timeout
        self.log = log or (lambda msg: None)
        self.sleep = sleep if sleep is not None else self.default_sleep
        self.clock = clock if clock is not None else self.default_clock
        sleep, clock = self.sleep, self.clock
        self.commands = []
        self.progress = []
        if session is None:
            session = self.session_class(
                host=host, port=port, username=username, password=password, private_key=private_key,
                known_hosts=known_hosts, host_key_policy=host_key_policy, connect_timeout=connect_timeout,
                connect_retries=connect_retries, sleep=sleep, clock=clock, log=self.log)
        self.session = session

    # -- low level ----------------------------------------------------------------------------
    @property
    def connections(self):
        return getattr(self.session, 'connections', 0)

    def close(self):
        self.session.close()

    def build(self, executable, args):
        """-> the command line `env NAS_DB=<nas_db> <executable> <args...>`, every word quoted."""
        words = ['env', 'NAS_DB=%s' % self.nas_db, executable] + [str(a) for a in args]
        for word in words:
            if not _SAFE_ARG_RE.fullmatch(word):
                raise CelerraArgumentError('refused argument %r: control characters are not allowed' % word)
        return ' '.join(shlex.quote(w) for w in words)

    def command_path(self, cmd):
        if cmd not in COMMANDS:
            raise CelerraArgumentError('unknown Celerra command %r' % cmd)
        return '%s/%s/%s' % (self.nas_db, COMMANDS[cmd], cmd)

    def run(self, cmd, args=(), check=True, ok_rcs=(0,), timeout=None):
        """Run a contract command; -> dict(rc, stdout, stderr, command).

        With check, a non-zero exit (not in ok_rcs) raises CelerraCommandError carrying the
        Celerra's own code, subject and message when the output has an `Error NNNN:` line.
        """
        return self.run_argv([self.command_path(cmd)] + list(args), check=check, ok_rcs=ok_rcs, timeout=timeout)

    def run_argv(self, argv, check=True, ok_rcs=(0,), timeout=None):
        command = self.build(argv[0], argv[1:])
        timeout = self.command_timeout if timeout is None else timeout
        started = self.clock()
        entry = {'command': command, 'rc': None}
        self.commands.append(entry)
        try:
            rc, stdout, stderr = self.session.run(command, timeout)
        except CelerraTimeoutError:
            entry['rc'] = 'timeout'
            raise
        except CelerraConnectionError:
            entry['rc'] = 'connection'
            raise
        entry['rc'] = rc
        entry['seconds'] = round(self.clock() - started, 3)
        result = {'command': command, 'rc': rc, 'stdout': stdout, 'stderr': stderr}
        if check and rc not in ok_rcs:
            raise self.error_from(result)
        return result

    @staticmethod
    def error_from(result):
        err = parsers.find_error(result['stdout'], result['stderr'])
        if err:
            msg = 'Error %d: %s : %s' % (err['code'], err['subject'], err['message'])
            return CelerraCommandError(msg, command=result['command'], rc=result['rc'], stdout=result['stdout'],
                                       stderr=result['stderr'], code=err['code'], subject=err['subject'],
                                       message=err['message'])
        text = (result['stderr'] or result['stdout'] or '').strip().splitlines()
        msg = 'command failed with exit %s: %s' % (result['rc'], text[-1] if text else result['command'])
        return CelerraCommandError(msg, command=result['command'], rc=result['rc'], stdout=result['stdout'],
                                   stderr=result['stderr'])

    def parse(self, parser, result, what):
        try:
            return parser(result['stdout'])
        except parsers.CelerraParseError as exc:
            raise CelerraParseError('%s (command: %s)' % (exc, result['command']), command=result['command'],
                                    stdout=result['stdout'], stderr=result['stderr'], rc=result['rc'])

    def command_list(self):
        return [c['command'] for c in self.commands]

    # -- read commands ------------------------------------------------------------------------
    def nas_version(self):
        """-> dict(version, consistent, error, upgrade): a 5005 station is reported, not raised."""
        result = self.run('nas_version', check=False)
        if result['rc'] == 0:
            return {'version': self.parse(parsers.parse_nas_version, result, 'nas_version'),
                    'consistent': True, 'error': None, 'upgrade': None}
        err = self.error_from(result)
        if err.code == 5005:
            return {'version': None, 'consistent': False, 'error': err.msg,
                    'upgrade': parsers.parse_inconsistent(err.message)}
        raise err

    def server_version(self, mover='ALL'):
        """-> {mover: {version, ready, error}}; a mover not ready is reported in its line."""
        result = self.run('server_version', [Arg.mover(mover, allow_all=True)], check=False)
        if result['rc'] != 0 and not any(
                parsers.SUBJECT_ERROR_RE.match(line) for line in result['stdout'].splitlines()):
            raise self.error_from(result)
        return self.parse(parsers.parse_server_version, result, 'server_version')

    def nas_server_list(self):
        return self.parse(parsers.parse_nas_server_list, self.run('nas_server', ['-list']), 'nas_server')

    def nas_server_info(self, mover):
        return self.parse(parsers.parse_nas_server_info, self.run('nas_server', ['-info', Arg.mover(mover)]),
                          'nas_server')

    def getreason(self):
        return self.parse(parsers.parse_getreason, self.run('getreason'), 'getreason')

    def nas_fs_list(self):
        return self.parse(parsers.parse_nas_fs_list, self.run('nas_fs', ['-list']), 'nas_fs')

    def nas_fs_info(self, fs):
        return self.parse(parsers.parse_nas_fs_info, self.run('nas_fs', ['-info', Arg.fs(fs)]), 'nas_fs')

    def server_mount_list(self, mover):
        return self.parse(parsers.parse_server_mount, self.run('server_mount', [Arg.mover(mover)]), 'server_mount')

    def server_export_list(self, mover):
        return self.parse(parsers.parse_server_export,
                          self.run('server_export', [Arg.mover(mover), '-Protocol', 'nfs', '-list']),
                          'server_export')

    def nas_checkup(self):
        """-> parsed checkup; exit 1 (warnings) and 2 (failures) still carry the report."""
        result = self.run('nas_checkup', ok_rcs=(0, 1, 2))
        report = self.parse(parsers.parse_checkup, result, 'nas_checkup')
        report['rc'] = result['rc']
        return report

    # -- change commands ----------------------------------------------------------------------
    # Each change has an *_argv builder (validates, sends nothing) used for planning and check mode.
    def server_mount_argv(self, mover, fs, mountpoint, option=None):
        args = [Arg.mover(mover)]
        if option is not None:
            if option not in ('rw', 'ro'):
                raise CelerraArgumentError('invalid mount option %r: expected rw or ro' % (option,))
            args += ['-option', option]
        args += [Arg.fs(fs), Arg.path(mountpoint)]
        return [self.command_path('server_mount')] + args

    def server_umount_argv(self, mover, fs):
        return [self.command_path('server_umount'), Arg.mover(mover), '-perm', Arg.fs(fs)]

    def server_export_argv(self, mover, path, options):
        args = [Arg.mover(mover), '-Protocol', 'nfs']
        option_string = export_option_string(options or {})
        if option_string:
            args += ['-option', option_string]
        args.append(Arg.path(path))
        return [self.command_path('server_export')] + args

    def server_unexport_argv(self, mover, path):
        return [self.command_path('server_export'), Arg.mover(mover), '-unexport', '-perm', Arg.path(path)]

    def server_mount(self, mover, fs, mountpoint, option=None):
        return self.run_argv(self.server_mount_argv(mover, fs, mountpoint, option))

    def server_umount(self, mover, fs):
        return self.run_argv(self.server_umount_argv(mover, fs))

    def server_export(self, mover, path, options):
        return self.run_argv(self.server_export_argv(mover, path, options))

    def server_unexport(self, mover, path):
        return self.run_argv(self.server_unexport_argv(mover, path))

    def line(self, argv):
        """The command line argv is sent as (nothing is sent)."""
        return self.build(argv[0], argv[1:])

    # -- templates ----------------------------------------------------------------------------
    def run_template(self, template, check=True, ok_rcs=(0,), **values):
        if isinstance(template, str):
            template = CommandTemplate(template, values.keys())
        return self.run_argv(template.render(**values), check=check, ok_rcs=ok_rcs)

    # -- poll ---------------------------------------------------------------------------------
    def note(self, line):
        """A progress line: to the module's log and to the `progress` return list."""
        self.progress.append(line)
        self.log(line)

    def poll(self, fetch, check, timeout, interval, what, tolerate_codes=(NOT_READY, LOCK_HELD),
             max_failures=DEFAULT_POLL_FAILURES):
        """Call fetch() every `interval` seconds until check(value) says done, or `timeout` passes.

        check(value) -> (done, progress_line); it may raise to stop the poll (a failed upgrade).
        A failed read is waited through: a transient SSH error (the session reconnects on the next
        call), a command timeout, a Celerra code in tolerate_codes (a mover that reboots, a lock held)
        and output that cannot be parsed (empty or garbled). Each new problem is noted once. After
        `max_failures` failed reads in a row (None: no limit) CelerraPollError is raised; a good read
        starts the count again. Any other error stops the poll at once.
        -> the value for which check said done. Raises CelerraTimeoutError past the timeout.
        """
        if max_failures is not None and max_failures < 1:
            raise CelerraArgumentError('max_failures must be at least 1, got %r' % (max_failures,))
        deadline = self.clock() + timeout
        last_line = None
        last_problem = None
        failures = 0
        while True:
            value = None
            problem = None
            try:
                value = fetch()
            except CelerraConnectionError as exc:
                if not exc.transient:
                    raise
                self.session.drop()
                problem = 'connection lost (%s)' % exc.msg
            except CelerraTimeoutError as exc:
                self.session.drop()
                problem = exc.msg
            except CelerraCommandError as exc:
                if exc.code not in tolerate_codes:
                    raise
                problem = exc.msg
            except CelerraParseError as exc:
                problem = 'unreadable output: %s' % exc.msg
            except parsers.CelerraParseError as exc:
                problem = 'unreadable output: %s' % exc
            if problem is None:
                failures = 0
                done, line = check(value)
                if line and line != last_line:
                    self.note(line)
                    last_line = line
                if done:
                    return value
            else:
                failures += 1
                if problem != last_problem:
                    self.note('%s: waiting: %s' % (what, problem))
                if max_failures is not None and failures >= max_failures:
                    raise CelerraPollError(
                        '%s: the status could not be read %d times in a row (last: %s); the operation may '
                        'still be running on the Control Station' % (what, failures, problem),
                        failures=failures, last=problem, last_status=last_line)
            last_problem = problem
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise CelerraTimeoutError('%s: timed out after %ss (last: %s)' % (what, timeout, problem or last_line),
                                          last=problem or last_line)
            self.sleep(min(interval, remaining))
