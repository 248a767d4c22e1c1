# A strict fake of the Celerra Control Station CLI (docs/celerra-cli.md) for the unit tests.
#
# It receives the exact command line the client would send over SSH, splits it as a POSIX shell
# would (refusing any unquoted shell syntax), and answers with the contract's output, errors and exit
# codes from an in-memory state: movers, file systems, mounts, exports, upgrade jobs on a fake clock.
# Wrong order (unmount while exported), wrong arguments, a mover that reboots or a held lock fail as
# the contract says the real system does.
from __future__ import annotations

import re
import shlex

from ansible_collections.mailops.window.plugins.module_utils._celerra_client import (
    CelerraConnectionError,
    CelerraTimeoutError,
)

RELEASES = {
    '4.2': ('4.2.16-5', 'T4.2.16.5'),
    '5.1': ('5.1.23-2', 'T5.1.23.2'),
}
CS_STEPS = ['precheck', 'backup_nas_db', 'install_packages', 'migrate_nas_db', 'restart_services']
ROLLBACK_STEPS = ['restore_nas_db', 'restore_packages', 'restart_services']
STEP_SECONDS = 3.0          # one CS upgrade / rollback step
DM_INSTALL_SECONDS = 2.0    # install on every target mover
DM_REBOOT_SECONDS = 4.0     # one mover reboot (reasons 0, 1, 3, 4 then 5)
CHANGE_COMMANDS = ('server_mount', 'server_umount', 'server_export', 'server_cpu')
# What a spoiled status read gives: nothing, a line cut short, the lock of another session, or a lost
# SSH connection (FakeSession raises it; the loopback station cannot, so its tests use the first three).
STATUS_HICCUPS = ('empty', 'garbled', 'lock', 'drop')

# Characters a POSIX shell would interpret when they are not quoted.
SHELL_SPECIALS = set(';&|<>()$`\\"\'*?[]{}~#!\n\t\r ')


def unquoted_specials(line):
    """Shell syntax a POSIX shell would interpret in `line` (spaces between words excepted): outside
    quotes any of SHELL_SPECIALS, inside double quotes `$` and backquotes. A non-empty result means the
    words would not reach the command as they were meant."""
    found = []
    state = None
    for ch in line:
        if state == "'":
            if ch == "'":
                state = None
        elif state == '"':
            if ch == '"':
                state = None
            elif ch in '$`\\':
                found.append(ch)
        elif ch in ('"', "'"):
            state = ch
        elif ch in SHELL_SPECIALS and ch != ' ':
            found.append(ch)
    if state:
        found.append('unbalanced quote')
    return found


class Result(object):
    def __init__(self, rc=0, stdout='', stderr=''):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def error(code, subject, message, rc=2):
    return Result(rc, 'Error %d: %s : %s\n' % (code, subject, message))


class Mover(object):
    def __init__(self, id, slot, version='T4.2.16.5', type=1):
        self.id, self.slot, self.version, self.type = id, slot, version, type
        self.reboot_start = None     # fake time a reboot began
        self.panicked = False
        self.cpu_reboot = False      # the reboot was started by server_cpu (it ends on its own)
        self.reboot_panics = False   # that reboot ends in a panic (the dm_panic fault)

    @property
    def name(self):
        return 'server_%d' % self.slot


class FakeControlStation(object):

    def __init__(self):
        self.now = 0.0
        self.cs_version = '4.2.16-5'
        self.cs_previous = None
        self.movers = {'server_2': Mover(1, 2), 'server_3': Mover(2, 3)}
        self.fs = {'root_fs_1': {'id': 1, 'volume': 10}, 'fs_store1': {'id': 25, 'volume': 112},
                   'fs_store2': {'id': 26, 'volume': 114}}
        # mover -> list of [fs, mountpoint, mode]; system mounts first, as server_mount prints them
        self.mounts = {
            'server_2': [['root_fs_2', '/', 'rw'], ['root_fs_common', '/.etc_common', 'ro'],
                         ['fs_store1', '/fs_store1', 'rw'], ['fs_store2', '/fs_store2', 'rw']],
            'server_3': [['root_fs_3', '/', 'rw'], ['root_fs_common', '/.etc_common', 'ro']],
        }
        hosts = {'rw': ['mta1', 'mta2'], 'root': ['mta1', 'mta2'], 'access': ['mta1', 'mta2']}
        self.exports = {'server_2': {'/fs_store1': dict(hosts), '/fs_store2': dict(hosts)}, 'server_3': {}}
        self.cs_job = None
        self.cs_status = {'state': 'idle', 'step': 0, 'steps': 0, 'step_name': None, 'from': self.cs_version,
                          'to': None, 'progress': 0}
        self.dm_job = None
        self.dm_status = {}
        # faults: lock_held, hang, dm_panic, cs_upgrade_fail as celerra-lab-fault sets them, and
        # not_responding: [(command, mover, target), ...] - the next change `command` (server_mount,
        # server_umount, server_export or server_unexport for `server_export -unexport`) on `mover` naming
        # `target` (the file system or path; None: any) passes its checks, then the mover's agent cannot be
        # reached: `Error 2102: <mover> : data mover not responding (...)`, nothing changed (as the lab's
        # push_and_commit). Each entry is consumed by the command it fails.
        self.faults = {}
        self.lines = []       # every command line received
        self.argvs = []       # its argv, as a shell would split it
        self.changes = []     # argv of the change commands that succeeded
        self.before_command = None     # hook(argv) run before a command (to change state mid-run)
        self.disconnect_on = []        # substrings: the connection drops when such a command is sent
        # Hiccups of `nas_upgrade -status`: {n: kind} spoils the n-th status read (1-based, counted in
        # status_reads) with one of STATUS_HICCUPS; the job itself goes on undisturbed.
        self.status_hiccups = {}
        self.status_reads = 0

    # -- clock ------------------------------------------------------------------------------------
    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0, seconds
        self.advance(seconds)

    def advance(self, seconds):
        self.now += seconds
        self._tick()

    # -- helpers ----------------------------------------------------------------------------------
    def add_fs(self, name, id, volume=200):
        self.fs[name] = {'id': id, 'volume': volume}

    def mounted_on(self, fs):
        for mover, mounts in self.mounts.items():
            for entry in mounts:
                if entry[0] == fs:
                    return mover, entry
        return None, None

    def reason(self, mover):
        m = self.movers[mover]
        if m.panicked:
            return 7
        if m.reboot_start is None:
            return 5
        elapsed = self.now - m.reboot_start
        if m.reboot_panics:
            # as the lab: a panicking reboot walks 0, 1 and panics at 2/3 of the reboot's time
            return [0, 1][min(int(elapsed / (DM_REBOOT_SECONDS / 3)), 1)]
        walk = [0, 1, 3, 4]
        return walk[min(int(elapsed / (DM_REBOOT_SECONDS / 4)), 3)]

    def ready(self, mover):
        return self.reason(mover) == 5

    def lock_held(self):
        if self.faults.get('lock_held'):
            return True
        if self.cs_job is not None and self.cs_status['state'] in ('running', 'rolling_back'):
            return True
        return self.dm_job is not None

    def cs_consistent(self):
        return self.cs_job is None

    # -- upgrade state machine --------------------------------------------------------------------
    def _tick(self):
        for mover in self.movers.values():
            if not mover.cpu_reboot or mover.reboot_start is None:
                continue
            elapsed = self.now - mover.reboot_start
            if mover.reboot_panics and elapsed >= DM_REBOOT_SECONDS * 2 / 3:
                mover.reboot_start, mover.cpu_reboot, mover.reboot_panics = None, False, False
                mover.panicked = True
            elif not mover.reboot_panics and elapsed >= DM_REBOOT_SECONDS:
                mover.reboot_start, mover.cpu_reboot = None, False
        job = self.cs_job
        if job is not None and self.cs_status['state'] in ('running', 'rolling_back'):
            steps = job['steps']
            elapsed = self.now - job['start']
            index = int(elapsed // STEP_SECONDS)
            fail = job.get('fail_step')
            if fail and index >= fail - 1 and elapsed >= (fail - 1) * STEP_SECONDS + STEP_SECONDS / 2:
                self.cs_status.update(state='failed', step=fail, step_name=steps[fail - 1],
                                      progress=int(100 * (fail - 1) / len(steps)))
            elif index >= len(steps):
                if job['kind'] == 'upgrade':
                    self.cs_previous = job['from']
                    self.cs_version = job['to']
                    self.cs_status.update(state='done', step=len(steps), step_name=steps[-1], progress=100)
                else:
                    self.cs_version = job['to']
                    self.cs_previous = None
                    self.cs_status.update(state='rolled_back', step=len(steps), step_name=steps[-1], progress=100)
                self.cs_job = None
            else:
                self.cs_status.update(step=index + 1, step_name=steps[index],
                                      progress=int(100 * elapsed / (len(steps) * STEP_SECONDS)))
        job = self.dm_job
        if job is not None:
            elapsed = self.now - job['start']
            targets = job['movers']
            for i, name in enumerate(targets):
                status = self.dm_status[name]
                mover = self.movers[name]
                if status['state'] != 'running':
                    continue
                reboot_at = DM_INSTALL_SECONDS + i * DM_REBOOT_SECONDS
                if elapsed < DM_INSTALL_SECONDS:
                    status.update(step=1, step_name='install', progress=int(50 * elapsed / DM_INSTALL_SECONDS))
                elif elapsed < reboot_at:
                    status.update(step=1, step_name='install', progress=50)
                elif elapsed < reboot_at + DM_REBOOT_SECONDS:
                    if mover.reboot_start is None:
                        mover.reboot_start = job['start'] + reboot_at
                        if self.faults.get('dm_panic') == name:
                            del self.faults['dm_panic']
                            mover.panicked = True
                            mover.reboot_start = None
                            status.update(state='failed', step=2, step_name='reboot', progress=75)
                            continue
                    status.update(step=2, step_name='reboot',
                                  progress=50 + int(50 * (elapsed - reboot_at) / DM_REBOOT_SECONDS))
                else:
                    mover.reboot_start = None
                    mover.version = status['to']
                    status.update(state='done', step=2, step_name='reboot', progress=100)
            if all(self.dm_status[n]['state'] != 'running' for n in targets):
                self.dm_job = None

    # -- entry point ------------------------------------------------------------------------------
    def execute(self, line):
        """-> Result for one command line, as sshd + bash + the CLI would answer it."""
        bad = unquoted_specials(line)
        assert not bad, 'shell syntax %r would reach the shell unquoted in %r' % (bad, line)
        argv = shlex.split(line)
        self.lines.append(line)
        self.argvs.append(argv)
        if self.before_command:
            self.before_command(argv)
        self._tick()
        if len(argv) < 3 or argv[0] != 'env' or argv[1] != 'NAS_DB=/nas':
            return Result(2, '', 'expected env NAS_DB=/nas <command>\n')
        path, args = argv[2], argv[3:]
        m = re.match(r'^/nas/(bin|sbin)/([a-z_]+)$', path)
        handlers = {
            ('bin', 'nas_version'): self.nas_version, ('bin', 'server_version'): self.server_version,
            ('bin', 'nas_server'): self.nas_server, ('bin', 'nas_fs'): self.nas_fs,
            ('bin', 'server_mount'): self.server_mount, ('bin', 'server_umount'): self.server_umount,
            ('bin', 'server_export'): self.server_export, ('bin', 'nas_checkup'): self.nas_checkup,
            ('bin', 'server_cpu'): self.server_cpu,
            ('sbin', 'getreason'): self.getreason, ('sbin', 'nas_upgrade'): self.nas_upgrade,
        }
        handler = handlers.get((m.group(1), m.group(2))) if m else None
        if handler is None:
            return Result(127, '', 'bash: %s: No such file or directory\n' % path)
        if self.faults.get('hang') == m.group(2):
            return 'hang'
        result = handler(args)
        if result == 'drop':
            return result
        if result.rc == 0 and m.group(2) in CHANGE_COMMANDS and '-list' not in args and len(args) > 1:
            self.changes.append(argv[2:])
        return result

    # -- read commands ----------------------------------------------------------------------------
    def nas_version(self, args):
        if args:
            return error(2230, 'nas_version', 'usage: nas_version')
        if not self.cs_consistent():
            job = self.cs_job
            st = self.cs_status
            what = 'in progress' if st['state'] in ('running', 'rolling_back') else 'failed'
            return error(5005, 'nas_version', 'control station software inconsistent (upgrade %s -> %s %s at step '
                         '%d/%d %s)' % (job['from'], job['to'], what, st['step'], st['steps'], st['step_name']))
        return Result(0, self.cs_version + '\n')

    def server_version(self, args):
        if len(args) != 1:
            return error(2230, 'server_version', 'usage: server_version { <movername> | ALL }')
        if args[0] != 'ALL' and args[0] not in self.movers:
            return error(2100, args[0], 'No such data mover')
        names = list(self.movers) if args[0] == 'ALL' else [args[0]]
        out, rc = [], 0
        for name in names:
            if self.ready(name):
                out.append('%s : Product: EMC Celerra File Server  Version: %s' % (name, self.movers[name].version))
            else:
                out.append('%s : Error 2102: data mover not ready (reason %d)' % (name, self.reason(name)))
                rc = 2
        return Result(rc, '\n'.join(out) + '\n')

    def nas_server(self, args):
        if args == ['-list']:
            out = ['id      type  acl  slot groupID  state  name']
            for m in self.movers.values():
                out.append('%-8d %d    0     %d              0    %s' % (m.id, m.type, m.slot, m.name))
            return Result(0, '\n'.join(out) + '\n')
        if len(args) == 2 and args[0] == '-info':
            if args[1] not in self.movers:
                return error(2100, args[1], 'No such data mover')
            m = self.movers[args[1]]
            actual = {5: 'online, ready', 4: 'online, active', 7: 'offline, panicked'}.get(self.reason(m.name), 'booting')
            return Result(0, 'id        = %d\nname      = %s\nacl       = 0\ntype      = nas\nslot      = %d\n'
                             'member_of =\nstandby   =\nstatus    :\n defined = enabled\n actual = %s\n'
                          % (m.id, m.name, m.slot, actual))
        return error(2230, 'nas_server', 'usage: nas_server { -list | -info <movername> }')

    def getreason(self, args):
        if args:
            return error(2230, 'getreason', 'usage: getreason')
        out = ['10 - slot_0 primary control station']
        for m in self.movers.values():
            code = self.reason(m.name)
            label = {0: 'reset', 1: 'DOS booted', 3: 'DART loaded', 4: 'DART ready', 5: 'contacted', 7: 'panic'}[code]
            out.append('%2d - slot_%d %s' % (code, m.slot, label))
        return Result(0, '\n'.join(out) + '\n')

    def nas_fs(self, args):
        if args == ['-list']:
            out = ['id      inuse type acl   volume    name                server']
            for name, fs in sorted(self.fs.items(), key=lambda kv: kv[1]['id']):
                mover, dummy_entry = self.mounted_on(name)
                server = str(self.movers[mover].id) if mover else ''
                out.append(('%-9d %s    1   0     %-9d %-19s %s' % (fs['id'], 'y' if mover else 'n', fs['volume'],
                                                                    name, server)).rstrip())
            return Result(0, '\n'.join(out) + '\n')
        if len(args) == 2 and args[0] == '-info':
            if args[1] not in self.fs:
                return error(2211, args[1], 'no such file system')
            fs = self.fs[args[1]]
            mover, entry = self.mounted_on(args[1])
            rw = mover if entry and entry[2] == 'rw' else ''
            ro = mover if entry and entry[2] == 'ro' else ''
            return Result(0, 'id        = %d\nname      = %s\nacl       = 0\nin_use    = %s\ntype      = uxfs\n'
                             'worm      = off\nvolume    = v%d\nrw_servers= %s\nro_servers= %s\n'
                             'size      = total = 10240 avail = 9870 used = 370 ( 3%% ) (sizes in MB)\n'
                          % (fs['id'], args[1], 'True' if mover else 'False', fs['volume'], rw, ro))
        return error(2230, 'nas_fs', 'usage: nas_fs { -list | -info <fs> }')

    def _mover_arg(self, args, cmd):
        if not args:
            return None, error(2230, cmd, 'usage: %s <movername> ...' % cmd)
        if args[0] not in self.movers:
            return None, error(2100, args[0], 'No such data mover')
        if not self.ready(args[0]):
            return None, error(2102, args[0], 'data mover not ready (reason %d)' % self.reason(args[0]))
        return args[0], None

    def _lock(self, mover):
        if self.lock_held():
            return error(2201, mover, 'unable to acquire lock(s), try later')
        return None

    def _agent(self, command, mover, *targets):
        """The push to the mover's agent, last before a change is recorded: the not_responding fault."""
        entries = self.faults.get('not_responding') or []
        for entry in entries:
            if entry[0] == command and entry[1] == mover and (entry[2] is None or entry[2] in targets):
                entries.remove(entry)
                return error(2102, mover, 'data mover not responding (celerra-dm%d:5081: Connection refused)'
                             % self.movers[mover].slot)
        return None

    def server_mount(self, args):
        mover, err = self._mover_arg(args, 'server_mount')
        if err:
            return err
        rest = args[1:]
        if not rest:
            out = ['%s :' % mover] + ['%s on %s uxfs,perm,%s' % tuple(e) for e in self.mounts[mover]]
            return Result(0, '\n'.join(out) + '\n')
        mode = 'rw'
        if rest[:1] == ['-option']:
            if len(rest) < 2 or rest[1] not in ('rw', 'ro'):
                return error(2230, 'server_mount', "invalid option '%s'" % (rest[1] if len(rest) > 1 else ''))
            mode, rest = rest[1], rest[2:]
        if len(rest) != 2 or not rest[1].startswith('/'):
            return error(2230, 'server_mount', 'usage: server_mount <movername> [-option rw|ro] <fs> <mountpoint>')
        fs, mountpoint = rest
        lock = self._lock(mover)
        if lock:
            return lock
        if fs not in self.fs:
            return error(2211, fs, 'no such file system')
        where, entry = self.mounted_on(fs)
        if where and where != mover:
            return error(2212, fs, 'file system is mounted on %s' % where)
        if where == mover:
            if entry[1] == mountpoint:
                return Result(0, '%s : done\n' % mover)
            return error(2215, mover, '%s is already mounted on %s' % (fs, entry[1]))
        if any(e[1] == mountpoint for e in self.mounts[mover]):
            return error(2215, mover, 'mount point %s is in use' % mountpoint)
        agent = self._agent('server_mount', mover, fs, mountpoint)
        if agent:
            return agent
        self.mounts[mover].append([fs, mountpoint, mode])
        return Result(0, '%s : done\n' % mover)

    def server_umount(self, args):
        mover, err = self._mover_arg(args, 'server_umount')
        if err:
            return err
        rest = args[1:]
        if rest[:1] == ['-perm']:
            rest = rest[1:]
        if len(rest) != 1 or args[1:2] != ['-perm']:
            return error(2230, 'server_umount', 'usage: server_umount <movername> -perm <fs>|<mountpoint>')
        lock = self._lock(mover)
        if lock:
            return lock
        target = rest[0]
        entry = next((e for e in self.mounts[mover] if target in (e[0], e[1])), None)
        if entry is None or entry[0].startswith('root_fs'):
            return error(2213, mover, '%s is not mounted' % target)
        if entry[1] in self.exports[mover]:
            return error(2214, mover, '%s is exported, unexport first' % entry[0])
        agent = self._agent('server_umount', mover, entry[0], entry[1])
        if agent:
            return agent
        self.mounts[mover].remove(entry)
        return Result(0, '%s : done\n' % mover)

    def server_export(self, args):
        mover, err = self._mover_arg(args, 'server_export')
        if err:
            return err
        rest = args[1:]
        if rest[:2] == ['-Protocol', 'nfs']:
            rest = rest[2:]
        if rest == ['-list']:
            out = ['%s :' % mover]
            for path, opts in self.exports[mover].items():
                words = ['%s=%s' % (k, ':'.join(opts[k])) for k in ('rw', 'ro', 'root', 'access') if opts.get(k)]
                out.append(('export "%s" %s' % (path, ' '.join(words))).rstrip())
            return Result(0, '\n'.join(out) + '\n')
        if rest[:2] == ['-unexport', '-perm'] and len(rest) == 3:
            lock = self._lock(mover)
            if lock:
                return lock
            if rest[2] not in self.exports[mover]:
                return error(2221, mover, '%s : not exported' % rest[2])
            agent = self._agent('server_unexport', mover, rest[2],
                                next((e[0] for e in self.mounts[mover] if e[1] == rest[2]), None))
            if agent:
                return agent
            del self.exports[mover][rest[2]]
            return Result(0, '%s : done\n' % mover)
        if args[1:3] != ['-Protocol', 'nfs']:
            return error(2230, 'server_export', 'usage: server_export <movername> -Protocol nfs [-option <opts>] <path>')
        options = {}
        if rest[:1] == ['-option']:
            if len(rest) < 2:
                return error(2230, 'server_export', 'missing option list')
            for item in rest[1].split(','):
                key, sep, value = item.partition('=')
                hosts = value.split(':')
                if key not in ('rw', 'ro', 'root', 'access') or not sep or not all(
                        re.match(r'^[A-Za-z0-9.-]+$', h) for h in hosts):
                    return error(2230, 'server_export', "invalid option '%s'" % item)
                options[key] = hosts
            rest = rest[2:]
        if len(rest) != 1 or not rest[0].startswith('/'):
            return error(2230, 'server_export', 'usage: server_export <movername> -Protocol nfs [-option <opts>] <path>')
        lock = self._lock(mover)
        if lock:
            return lock
        path = rest[0]
        if not any(e[1] == path for e in self.mounts[mover]):
            return error(2220, mover, '%s : No such file or directory' % path)
        agent = self._agent('server_export', mover, path, next((e[0] for e in self.mounts[mover] if e[1] == path), None))
        if agent:
            return agent
        self.exports[mover][path] = options
        return Result(0, '%s : done\n' % mover)

    def server_cpu(self, args):
        """`server_cpu <mover> -reboot [-monitor] now`, as the lab's: a panicked mover can be rebooted,
        one that is rebooting cannot (2102); the lock must be free and the station consistent."""
        usage = error(2230, 'server_cpu', 'usage: server_cpu <movername> -reboot [-monitor] now')
        if not args:
            return usage
        name, reboot, monitor, when = args[0], False, False, None
        for arg in args[1:]:
            if arg == '-reboot':
                reboot = True
            elif arg == '-monitor':
                monitor = True
            elif arg.startswith('-'):
                return error(2230, 'server_cpu', "invalid option '%s'" % arg)
            elif when is None:
                when = arg
            else:
                return usage
        if not reboot or when is None or name == 'ALL':
            return usage
        if when != 'now':
            return error(2230, 'server_cpu', "invalid option '%s'" % when)
        if name not in self.movers:
            return error(2100, name, 'No such data mover')
        lock = self._lock(name)
        if lock:
            return lock
        if not self.cs_consistent():
            return error(5005, 'server_cpu', 'control station software inconsistent')
        mover = self.movers[name]
        if mover.reboot_start is not None:
            return error(2102, name, 'data mover not ready (reason %d)' % self.reason(name))
        mover.panicked = False
        mover.reboot_start, mover.cpu_reboot = self.now, True
        mover.reboot_panics = self.faults.get('dm_panic') == name
        if mover.reboot_panics:
            del self.faults['dm_panic']
        if not monitor:
            return Result(0, '%s : reboot in progress\n' % name)
        # -monitor: one reason code per poll (an eighth of the reboot) until it is back or panicked
        codes = []
        while True:
            code = self.reason(name)
            if code in (5, 7):
                break
            codes.append(str(code))
            self.advance(DM_REBOOT_SECONDS / 8)
        if code == 7:
            return Result(2, '%s : reboot in progress %s\nError 2102: %s : data mover panicked (reason 7)\n'
                          % (name, '.'.join(codes + ['7']), name))
        return Result(0, '%s : reboot in progress %s\n' % (name, '.'.join(codes + ['done'])))

    def nas_checkup(self, args):
        if args:
            return error(2230, 'nas_checkup', 'usage: nas_checkup')
        family = '.'.join(self.cs_version.split('.')[:2])
        checks = [
            ('Control Station', 'Checking if NAS_DB is consistent', 'Pass'),
            ('Control Station', 'Checking software version consistency', 'Pass' if self.cs_consistent() else 'Fail'),
            ('Data Movers    ', 'Checking status', 'Pass' if all(self.ready(m) for m in self.movers) else 'Fail'),
            ('Data Movers    ', 'Checking version consistency',
             'Pass' if all(m.version.startswith('T' + family + '.') for m in self.movers.values()) else 'Warning'),
            ('Storage System ', 'Checking disk health', 'Pass'),
        ]
        out = ['Check Version:  %s' % self.cs_version.replace('-', '.'), 'Check Command:  /nas/bin/nas_checkup',
               'Check Log    :  /nas/log/checkup-run.260110-050000.log', '',
               '-------------------------------------Checks-------------------------------------']
        for cat, text, res in checks:
            out.append('%s: %s%s %s' % (cat, text, '.' * (58 - len(text)), res))
        out.append('-' * 80)
        results = [c[2] for c in checks]
        rc = 2 if 'Fail' in results else (1 if 'Warning' in results else 0)
        return Result(rc, '\n'.join(out) + '\n')

    # -- the lab's upgrade command ----------------------------------------------------------------
    def status_lines(self):
        cs = self.cs_status
        out = ['component=cs state=%s step=%d/%d step_name=%s from=%s to=%s progress=%d' % (
            cs['state'], cs['step'], cs['steps'], cs['step_name'] or '-', cs['from'] or '-', cs['to'] or '-',
            cs['progress'])]
        for name, m in self.movers.items():
            st = self.dm_status.get(name) or {'state': 'idle', 'step': 0, 'steps': 0, 'step_name': None,
                                              'from': m.version, 'to': None, 'progress': 0}
            out.append('component=%s state=%s step=%d/%d step_name=%s from=%s to=%s progress=%d' % (
                name, st['state'], st['step'], st['steps'], st['step_name'] or '-', st['from'] or '-',
                st['to'] or '-', st['progress']))
        return '\n'.join(out) + '\n'

    def nas_upgrade(self, args):
        usage = error(2230, 'nas_upgrade', 'usage: nas_upgrade { -cs -to <v> | -cs -rollback | -dm <movers> -to <v> '
                                           '| -status }')
        if args == ['-status']:
            self.status_reads += 1
            hiccup = self.status_hiccups.get(self.status_reads)
            if hiccup == 'empty':
                return Result(0, '')
            if hiccup == 'garbled':
                return Result(0, self.status_lines()[:37] + '\n')
            if hiccup == 'lock':
                return error(2201, 'nas_upgrade', 'unable to acquire lock(s), try later')
            if hiccup == 'drop':
                return 'drop'
            assert hiccup is None, hiccup
            return Result(0, self.status_lines())
        if args == ['-cs', '-rollback']:
            if self.cs_job is not None and self.cs_job['kind'] == 'rollback':
                return error(5011, 'nas_upgrade', 'an upgrade is already running')
            if self.cs_previous is None and self.cs_job is None:
                return error(5011, 'nas_upgrade', 'nothing to roll back')
            if self.faults.get('lock_held') or self.dm_job is not None:
                return error(2201, 'nas_upgrade', 'unable to acquire lock(s), try later')
            current = self.cs_job['to'] if self.cs_job else self.cs_version
            target = self.cs_job['from'] if self.cs_job else self.cs_previous
            self.cs_job = {'kind': 'rollback', 'start': self.now, 'from': current, 'to': target,
                           'steps': ROLLBACK_STEPS}
            self.cs_status = {'state': 'rolling_back', 'step': 1, 'steps': len(ROLLBACK_STEPS),
                              'step_name': ROLLBACK_STEPS[0], 'from': current, 'to': target, 'progress': 0}
            return Result(0, 'nas_upgrade: control station rollback %s -> %s started\n' % (current, target))
        if len(args) == 3 and args[0] == '-cs' and args[1] == '-to':
            release = RELEASES.get(args[2])
            if release is None:
                return error(5011, 'nas_upgrade', 'version unknown: %s' % args[2])
            if self.cs_job is not None:
                return error(5011, 'nas_upgrade', 'an upgrade is already running')
            if self.lock_held():
                return error(2201, 'nas_upgrade', 'unable to acquire lock(s), try later')
            if self.cs_version == release[0]:
                return Result(0, 'nas_upgrade: already at %s\n' % release[0])
            fail = self.faults.pop('cs_upgrade_fail', None)
            self.cs_job = {'kind': 'upgrade', 'start': self.now, 'from': self.cs_version, 'to': release[0],
                           'steps': CS_STEPS, 'fail_step': fail}
            self.cs_status = {'state': 'running', 'step': 1, 'steps': len(CS_STEPS), 'step_name': CS_STEPS[0],
                              'from': self.cs_version, 'to': release[0], 'progress': 0}
            return Result(0, 'nas_upgrade: control station upgrade %s -> %s started\n' % (self.cs_version, release[0]))
        if len(args) == 4 and args[0] == '-dm' and args[2] == '-to':
            release = RELEASES.get(args[3])
            if release is None:
                return error(5011, 'nas_upgrade', 'version unknown: %s' % args[3])
            if args[1] != 'ALL' and args[1] not in self.movers:
                return error(2100, args[1], 'No such data mover')
            if self.cs_job is not None or self.dm_job is not None:
                return error(5011, 'nas_upgrade', 'an upgrade is already running')
            if self.lock_held():
                return error(2201, 'nas_upgrade', 'unable to acquire lock(s), try later')
            cs_family = tuple(int(x) for x in self.cs_version.split('-')[0].split('.')[:2])
            if tuple(int(x) for x in args[3].split('.')[:2]) > cs_family:
                return error(5010, 'nas_upgrade', 'data mover code %s is newer than the control station (%s)'
                             % (args[3], self.cs_version))
            targets = list(self.movers) if args[1] == 'ALL' else [args[1]]
            for name in targets:
                if not self.ready(name):
                    return error(2102, name, 'data mover not ready (reason %d)' % self.reason(name))
            targets = [n for n in targets if self.movers[n].version != release[1]]
            if not targets:
                return Result(0, 'nas_upgrade: already at %s\n' % release[1])
            self.dm_job = {'start': self.now, 'movers': targets}
            for name in targets:
                self.dm_status[name] = {'state': 'running', 'step': 1, 'steps': 2, 'step_name': 'install',
                                        'from': self.movers[name].version, 'to': release[1], 'progress': 0}
            return Result(0, 'nas_upgrade: data mover upgrade of %s to %s started\n' % (','.join(targets), release[1]))
        return usage


class FakeSession(object):
    """Stands in for ParamikoSession: one 'connection', commands executed by the fake station.

    A command matching one of station.disconnect_on loses the connection (once per entry); the next
    command reconnects, as ParamikoSession does after drop().
    """

    def __init__(self, station, **kwargs):
        self.station = station
        self.kwargs = kwargs
        self.connections = 0
        self.connected = False
        self.closed = 0

    def run(self, command, timeout):
        if not self.connected:
            self.connected = True
            self.connections += 1
        for trigger in list(self.station.disconnect_on):
            if trigger in command:
                self.station.disconnect_on.remove(trigger)
                self.connected = False
                raise connection_lost()
        result = self.station.execute(command)
        if result == 'drop':
            self.connected = False
            raise connection_lost()
        if result == 'hang':
            self.station.advance(timeout)
            raise CelerraTimeoutError('command timed out after %ss: %s' % (timeout, command))
        return result.rc, result.stdout, result.stderr

    def drop(self):
        self.connected = False

    def close(self):
        self.closed += 1
        self.connected = False


def connection_lost():
    return CelerraConnectionError('connection reset by peer', transient=True)
