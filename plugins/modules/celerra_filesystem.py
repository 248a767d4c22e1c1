#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: celerra_filesystem
short_description: Place an EMC Celerra file system on a data mover and export it over NFS
version_added: 0.1.0
description:
  - Makes a file system mounted on a data mover at a mount point, and exported over NFS with the
    given host lists, or neither mounted nor exported (O(state=absent)).
  - Reads where the file system is now (C(nas_fs -list), C(nas_server -list), C(server_mount),
    C(server_export)) and runs only the commands needed.
  - Moving a file system to another mover runs, in this order, the unexport on the old mover, the
    unmount on the old mover, the mount on the new mover and the export on the new mover. Changing
    only the export options re-exports the path (the new options replace the old ones).
  - When the mount or the export on the new mover fails, after the file system was unmounted from
    its old mover, the module undoes the move in reverse - the unexport and the unmount on the new
    mover of what it already did there, then the mount on the old mover with the old mount point and
    mount options and the export there with the old export options - and fails, saying at which step
    the move failed, the Celerra's error and that the file system is back on its old mover
    (RV(rolled_back=true)). A step whose outcome is unknown (connection lost, timeout) is undone too;
    the Celerra's C(not mounted) or C(not exported) answer then means that it never ran.
  - When the undo fails as well, the module says where the file system is (on no mover, or mounted
    but not exported), that C(ansible-playbook restore_mail.yml) brings it back, and the undo commands
    left to run. When the unexport on the old mover ran and the Celerra refused the unmount, the file
    system is still mounted there, and the module exports it again as before. Any other failure before the
    unmount from the old mover undoes nothing.
  - An unknown mover or file system, or a mount point used by another file system, fails before
    anything is changed.
  - Does not create or delete file systems; root file systems (C(root_fs_*)) are refused.
extends_documentation_fragment:
  - mailops.window.celerra
  - mailops.window.celerra.attributes
  - mailops.window.celerra.actiongroup_celerra
attributes:
  check_mode:
    support: full
    details:
      - Reads the current placement, reports the commands that would run and sends none of them.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the file system, as C(nas_fs -list) shows it.
    type: str
    required: true
  mover:
    description:
      - The data mover (C(server_N)) the file system must be mounted on.
      - Required with O(state=present). With O(state=absent), only that mover is cleared; without it,
        whichever mover has the file system.
    type: str
  mountpoint:
    description:
      - The mount point, which is also the exported path. Defaults to C(/<name>).
    type: str
  mount_options:
    description:
      - Mount the file system read-write or read-only.
    type: str
    choices: [rw, ro]
    default: rw
  export:
    description:
      - The NFS export of the mount point. Each list holds host names or IPv4 addresses; an empty
        or missing list leaves that option out. The options compare as sets, the order of hosts
        does not matter.
      - When neither O(export) nor O(exported) is given, the export is left as it is and, when the
        file system moves, its options move with it.
    type: dict
    suboptions:
      rw:
        description: Clients allowed to mount read-write.
        type: list
        elements: str
      ro:
        description: Clients allowed to mount read-only.
        type: list
        elements: str
      root:
        description: Clients whose root user keeps root access.
        type: list
        elements: str
      access:
        description: Clients allowed to mount at all.
        type: list
        elements: str
  exported:
    description:
      - V(false) makes sure the mount point is not exported. Cannot be combined with O(export).
      - V(true) without O(export) keeps (or carries to the new mover) the current export options, and
        fails when the file system is not exported yet.
    type: bool
  state:
    description:
      - V(present) mounted (and exported as asked) on O(mover).
      - V(absent) unexported and unmounted; the file system itself is kept.
    type: str
    choices: [present, absent]
    default: present
author:
  - mailops maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Move fs_store1 to server_3, exported to the two MTAs
  mailops.window.celerra_filesystem:
    host: 127.0.0.1
    port: 2241
    private_key: .lab/ssh/id_ed25519
    known_hosts: .lab/known_hosts
    name: fs_store1
    mover: server_3
    export:
      rw: [mta1, mta2]
      root: [mta1, mta2]
      access: [mta1, mta2]
  delegate_to: localhost
  register: placement

- name: Move fs_store2 back to server_2, keeping its export options
  mailops.window.celerra_filesystem:
    host: celerra-cs.example.net
    name: fs_store2
    mover: server_2
  delegate_to: localhost

- name: Stop exporting and unmount fs_old
  mailops.window.celerra_filesystem:
    host: celerra-cs.example.net
    name: fs_old
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
before:
  description: Where the file system was (mover, mountpoint, mount_options, exported, export).
  returned: success, and when a change command failed
  type: dict
  sample:
    mover: server_2
    mountpoint: /fs_store1
    mount_options: rw
    exported: true
    export: {rw: [mta1, mta2], ro: [], root: [mta1, mta2], access: [mta1, mta2]}
after:
  description:
    - Where the file system is after the run (in check mode, would be).
    - When a change command failed, where it was left, as the results of the commands show; after a
      complete undo, the same as RV(before).
  returned: success, and when a change command failed
  type: dict
  sample:
    mover: server_3
    mountpoint: /fs_store1
    mount_options: rw
    exported: true
    export: {rw: [mta1, mta2], ro: [], root: [mta1, mta2], access: [mta1, mta2]}
changes:
  description: The change commands that ran, in order (in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample:
    - env NAS_DB=/nas /nas/bin/server_export server_2 -unexport -perm /fs_store1
    - env NAS_DB=/nas /nas/bin/server_umount server_2 -perm fs_store1
    - env NAS_DB=/nas /nas/bin/server_mount server_3 -option rw fs_store1 /fs_store1
    - env NAS_DB=/nas /nas/bin/server_export server_3 -Protocol nfs -option rw=mta1:mta2 /fs_store1
failed_change:
  description: The change command that failed (the ones before it in RV(changes) did run).
  returned: when a change command failed
  type: str
failed_step:
  description:
    - The step of RV(failed_change) - V(unexport) or V(umount) (on the mover the file system was on),
      V(mount) or V(export) (on the mover it goes to).
  returned: when a change command failed
  type: str
  sample: mount
rolled_back:
  description:
    - Whether a failed move was undone and the file system is back where it was, as it was (RV(before)).
    - Also V(true) when the unmount was refused after the unexport and the file system, still mounted on
      its old mover, was exported there again.
    - V(false) when nothing was undone (any other failure before the file system left its old mover), or
      when the undo failed too (see RV(failed_rollback_change)).
  returned: when a change command failed
  type: bool
  sample: true
rollback_changes:
  description: The change commands of the undo that ran, in order (not in RV(changes)).
  returned: when a failed move was undone or its undo was tried
  type: list
  elements: str
  sample:
    - env NAS_DB=/nas /nas/bin/server_umount server_3 -perm fs_store1
    - env NAS_DB=/nas /nas/bin/server_mount server_2 -option rw fs_store1 /fs_store1
    - env NAS_DB=/nas /nas/bin/server_export server_2 -Protocol nfs -option rw=mta1:mta2 /fs_store1
failed_rollback_change:
  description:
    - The undo's change command that failed; it and the ones after it did not run (the message lists
      them). The error returned (C(rc), C(error_code), C(stdout)) is still that of RV(failed_change).
  returned: when the undo of a failed move failed
  type: str
commands:
  description: Every command line sent to the Control Station, reads included (one SSH round trip each).
  returned: always
  type: list
  elements: str
connections:
  description: Number of SSH connections made.
  returned: always
  type: int
  sample: 1
'''

from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as parsers
from ansible_collections.mailops.window.plugins.module_utils._celerra_client import (
    Arg,
    CelerraClientError,
    CelerraCommandError,
    export_option_string,
)
from ansible_collections.mailops.window.plugins.module_utils._celerra_module import CelerraFailure, CelerraModule

KEYS = parsers.EXPORT_OPTION_KEYS


def normalize_export(options):
    """-> {rw, ro, root, access} each a list without duplicates (order kept); None stays None."""
    if options is None:
        return None
    result = {}
    for key in KEYS:
        hosts = options.get(key) or []
        result[key] = list(dict.fromkeys(hosts))
    return result


def same_export(a, b):
    if a is None or b is None:
        return a is b
    return all(sorted(a.get(k) or []) == sorted(b.get(k) or []) for k in KEYS)


def placement(mover=None, mountpoint=None, mount_options=None, export=None):
    return {'mover': mover, 'mountpoint': mountpoint, 'mount_options': mount_options,
            'exported': export is not None, 'export': export}


STEP_TEXT = {'unexport': 'the unexport on %s', 'umount': 'the unmount on %s', 'mount': 'the mount on %s',
             'export': 'the export on %s'}
# What undoing a step answers when the step never ran (its outcome was unknown): 2213 not mounted, 2221 not exported.
NEVER_RAN = {'umount': 2213, 'unexport': 2221}
RESTORE_MAIL = 'ansible-playbook restore_mail.yml (or mailops.window.restore_mail)'


def placed(where, step, target):
    """-> the placement once `step` ran from `where`; a mount or an export puts it as in `target`."""
    if step == 'unexport':
        return placement(where['mover'], where['mountpoint'], where['mount_options'])
    if step == 'umount':
        return placement()
    if step == 'mount':
        return placement(target['mover'], target['mountpoint'], target['mount_options'])
    return placement(target['mover'], target['mountpoint'], target['mount_options'], target['export'])


def described(where):
    """-> `on no data mover` or `mounted on server_3 at /fs_store1 (rw), not exported`."""
    if where['mover'] is None:
        return 'on no data mover'
    return 'mounted on %s at %s (%s), %s' % (where['mover'], where['mountpoint'], where['mount_options'],
                                             'exported' if where['exported'] else 'not exported')


class FileSystem(object):

    def __init__(self, cm):
        self.cm = cm
        self.p = cm.params
        self.client = cm.client
        self.changes = []
        self.ran = []

    def validate(self):
        p = self.p
        Arg.fs(p['name'])
        if p['mover'] is not None:
            Arg.mover(p['mover'])
        if p['mountpoint'] is not None:
            Arg.path(p['mountpoint'])
        if p['state'] == 'present' and not p['mover']:
            raise CelerraFailure('mover is required with state=present')
        if p['export'] is not None:
            if p['exported'] is False:
                raise CelerraFailure('export and exported=false cannot be combined')
            if p['state'] == 'absent':
                raise CelerraFailure('export cannot be combined with state=absent')
            for key in KEYS:
                Arg.hosts(p['export'].get(key) or [], what='%s host' % key)
            export_option_string(normalize_export(p['export']))

    # -- discovery ------------------------------------------------------------------------------
    def current(self):
        name = self.p['name']
        fss = {fs['name']: fs for fs in self.client.nas_fs_list()}
        servers = self.client.nas_server_list()
        names = [s['name'] for s in servers]
        by_id = {s['id']: s['name'] for s in servers}
        if name not in fss:
            raise CelerraFailure('no such file system: %s (nas_fs -list has %s)'
                                 % (name, ', '.join(sorted(n for n, f in fss.items() if not f['root'])) or 'none'))
        fs = fss[name]
        if fs['root']:
            raise CelerraFailure('%s is a root file system; the module does not touch those' % name)
        if self.p['mover'] and self.p['mover'] not in names:
            raise CelerraFailure('no such data mover: %s (the Control Station has %s)'
                                 % (self.p['mover'], ', '.join(names)))
        self.mount_listings = {}
        mover = by_id.get(fs['server']) if fs['server'] is not None else None
        if fs['server'] is not None and mover is None:
            raise CelerraFailure('%s is mounted on nas_server id %s, which nas_server -list does not show'
                                 % (name, fs['server']))
        if mover is None:
            return placement()
        listing = self.client.server_mount_list(mover)
        self.mount_listings[mover] = listing
        mount = next((m for m in listing['mounts'] if m['fs'] == name), None)
        if mount is None:
            raise CelerraFailure('nas_fs -list shows %s on %s but server_mount %s does not list it'
                                 % (name, mover, mover))
        exports = self.client.server_export_list(mover)
        export = next((e for e in exports['exports'] if e['path'] == mount['mountpoint']), None)
        return placement(mover, mount['mountpoint'], mount['mode'],
                         normalize_export(export['options']) if export else None)

    def mountpoint_free(self, mover, mountpoint):
        listing = self.mount_listings.get(mover)
        if listing is None:
            listing = self.client.server_mount_list(mover)
            self.mount_listings[mover] = listing
        other = next((m for m in listing['mounts'] if m['mountpoint'] == mountpoint and m['fs'] != self.p['name']),
                     None)
        if other:
            raise CelerraFailure('mount point %s on %s is in use by %s' % (mountpoint, mover, other['fs']))

    # -- plan -----------------------------------------------------------------------------------
    def desired(self, before):
        p = self.p
        if p['state'] == 'absent':
            if before['mover'] is None or (p['mover'] and p['mover'] != before['mover']):
                return before
            return placement()
        mountpoint = p['mountpoint'] or '/%s' % p['name']
        if p['exported'] is False:
            export = None
        elif p['export'] is not None:
            export = normalize_export(p['export'])
        else:
            export = before['export']
            if p['exported'] is True and export is None:
                raise CelerraFailure('exported=true but %s is not exported yet: give the export options'
                                     % p['name'])
        return placement(p['mover'], mountpoint, p['mount_options'], export)

    def plan(self, before, after):
        """-> list of (step, mover, argv) in the order they must run; validates every argument.

        step is unexport, umount, mount or export."""
        c = self.client
        steps = []
        name = self.p['name']
        moved = before['mover'] is not None and (
            before['mover'] != after['mover'] or before['mountpoint'] != after['mountpoint']
            or before['mount_options'] != after['mount_options'])
        if moved:
            if before['exported']:
                steps.append(('unexport', before['mover'], c.server_unexport_argv(before['mover'], before['mountpoint'])))
            steps.append(('umount', before['mover'], c.server_umount_argv(before['mover'], name)))
        if after['mover'] is None:
            return steps
        if before['mover'] is None or moved:
            self.mountpoint_free(after['mover'], after['mountpoint'])
            steps.append(('mount', after['mover'], c.server_mount_argv(after['mover'], name, after['mountpoint'],
                                                                       after['mount_options'])))
            if after['exported']:
                steps.append(('export', after['mover'], c.server_export_argv(after['mover'], after['mountpoint'],
                                                                             after['export'])))
        elif after['exported'] and not same_export(before['export'], after['export']):
            steps.append(('export', after['mover'], c.server_export_argv(after['mover'], after['mountpoint'],
                                                                         after['export'])))
        elif before['exported'] and not after['exported']:
            steps.append(('unexport', after['mover'], c.server_unexport_argv(after['mover'], after['mountpoint'])))
        return steps

    def undo_plan(self, where, maybe, before):
        """-> list of (step, mover, argv, never_ran) taking the file system from where a failed move left it back
        to `before`. `maybe` is where it is if the failed step ran after all (its outcome unknown), else `where`;
        never_ran is the error code saying the step undone never ran (only for the undo of that step)."""
        c = self.client
        name = self.p['name']
        steps = []
        if maybe['exported']:
            steps.append(('unexport', maybe['mover'], c.server_unexport_argv(maybe['mover'], maybe['mountpoint']),
                          None if where['exported'] else NEVER_RAN['unexport']))
        if maybe['mover'] is not None:
            steps.append(('umount', maybe['mover'], c.server_umount_argv(maybe['mover'], name),
                          None if where['mover'] is not None else NEVER_RAN['umount']))
        steps.append(('mount', before['mover'], c.server_mount_argv(before['mover'], name, before['mountpoint'],
                                                                    before['mount_options']), None))
        if before['exported']:
            steps.append(('export', before['mover'], c.server_export_argv(before['mover'], before['mountpoint'],
                                                                          before['export']), None))
        return steps

    # -- run ------------------------------------------------------------------------------------
    def send(self, mover, argv, line):
        """Run one change command; -> None when it printed "<mover> : done", else (message, error or None)."""
        try:
            result = self.client.run_argv(argv)
        except CelerraClientError as exc:
            return '%s failed: %s' % (line, exc.msg), exc
        if not parsers.parse_mover_done(result['stdout'], mover):
            return '%s printed no "%s : done": %s' % (line, mover, result['stdout'].strip()), None
        return None

    def execute(self, steps, before, after):
        """Run the steps; a step failing after the file system left its old mover is undone (undo())."""
        where = before
        left = False
        for step, mover, argv in steps:
            line = self.client.line(argv)
            failure = self.send(mover, argv, line)
            if failure is None:
                self.changes.append(line)
                where = placed(where, step, after)
                left = left or step == 'umount'
                continue
            msg, cause = failure
            # A command the Celerra refused changed nothing; a lost connection, a timeout or a missing
            # "done" leaves the step's outcome unknown.
            ran = not isinstance(cause, CelerraCommandError)
            result = dict(changed=bool(self.changes) or cause is None, failed_change=line, failed_step=step,
                          before=before, rolled_back=False)
            result['changes'] = self.changes + [line] if cause is None else self.changes
            if not left:
                if step == 'umount' and not ran and before['exported'] and not where['exported']:
                    self.reexport(mover, msg, cause, where, before, result)
                if self.changes:
                    msg += '; %s is %s' % (self.p['name'], described(where))
                raise CelerraFailure(msg, cause=cause, after=where, **result)
            self.undo(step, mover, msg, cause, where, placed(where, step, after) if ran else where, before, result)

    def reexport(self, failed_mover, failed_msg, cause, where, before, result):
        """The unexport ran and the Celerra refused the unmount: the file system is still mounted where it was,
        but no NFS client can mount it. Export it again as before; then fail, saying how."""
        name = self.p['name']
        argv = self.client.server_export_argv(before['mover'], before['mountpoint'], before['export'])
        line = self.client.line(argv)
        msg = 'moving %s from %s failed at %s: %s.' % (
            name, before['mover'], STEP_TEXT['umount'] % failed_mover, failed_msg)
        rollback = result['rollback_changes'] = []
        failure = self.send(before['mover'], argv, line)
        if failure is None:
            rollback.append(line)
            result.update(changed=True, rolled_back=True)
            raise CelerraFailure(msg + ' The unexport was undone: %s is still on %s, mounted at %s (%s) and exported as'
                                 ' before.' % (name, before['mover'], before['mountpoint'], before['mount_options']),
                                 cause=cause, after=before, **result)
        undo_msg, dummy_cause = failure
        result.update(changed=True, failed_rollback_change=line)
        raise CelerraFailure(msg + ' Exporting it again failed too: %s. %s is %s, so no NFS client can mount it: %s'
                             ' exports it where it is; or, once the cause is fixed, run: %s'
                             % (undo_msg, name, described(where), RESTORE_MAIL, line), cause=cause, after=where, **result)

    def undo(self, failed_step, failed_mover, failed_msg, cause, where, maybe, before, result):
        """Put the file system back as `before` after a step that failed on failed_mover; then fail, saying how."""
        name = self.p['name']
        if failed_mover == before['mover']:
            what, noun = 'remounting %s on %s' % (name, before['mover']), 'remount'
        else:
            what, noun = 'moving %s from %s to %s' % (name, before['mover'], failed_mover), 'move'
        msg = '%s failed at %s: %s.' % (what, STEP_TEXT[failed_step] % failed_mover, failed_msg)
        unsure = maybe is not where
        undo = self.undo_plan(where, maybe, before)
        rollback = result['rollback_changes'] = []
        for index, (step, mover, argv, never_ran) in enumerate(undo):
            line = self.client.line(argv)
            failure = self.send(mover, argv, line)
            if failure is None:
                rollback.append(line)
                where = placed(where if never_ran is None else maybe, step, before)
                unsure = False
                continue
            undo_msg, undo_cause = failure
            if never_ran is not None and isinstance(undo_cause, CelerraCommandError) and undo_cause.code == never_ran:
                unsure = False
                continue
            now = '%s is %s' % (name, described(where))
            if unsure:
                now += ' (or, if %s ran after all, %s)' % (STEP_TEXT[failed_step] % failed_mover, described(maybe))
            fix = ('puts it back on a data mover' if where['mover'] is None else 'exports it where it is')
            pending = '; '.join(self.client.line(a) for dummy_step, dummy_mover, a, dummy_code in undo[index:])
            msg += (' Undoing it failed too, at %s: %s. %s, so no NFS client can mount it: %s %s and brings mail back;'
                    ' or, once the cause is fixed, run: %s' % (STEP_TEXT[step] % mover, undo_msg, now, RESTORE_MAIL,
                                                               fix, pending))
            result.update(changed=True, failed_rollback_change=line)
            raise CelerraFailure(msg, cause=cause, after=where, **result)
        msg += ' The %s was undone: %s is back on %s, mounted at %s (%s)%s.' % (
            noun, name, before['mover'], before['mountpoint'], before['mount_options'],
            ' and exported as before' if before['exported'] else ', not exported, as before')
        result.update(changed=True, rolled_back=True)
        raise CelerraFailure(msg, cause=cause, after=before, **result)

    def run(self):
        self.validate()
        before = self.current()
        after = self.desired(before)
        steps = self.plan(before, after)
        planned = [self.client.line(argv) for dummy_step, dummy_mover, argv in steps]
        changed = bool(steps)
        if changed and not self.cm.check_mode:
            self.execute(steps, before, after)
        else:
            self.changes = planned
        result = {'changed': changed, 'before': before, 'after': after, 'changes': self.changes}
        if changed and self.cm.diff_mode:
            result['diff'] = {'before': before, 'after': after}
        return result


def run(cm):
    return FileSystem(cm).run()


def main():
    cm = CelerraModule(dict(
        name=dict(type='str', required=True),
        mover=dict(type='str'),
        mountpoint=dict(type='str'),
        mount_options=dict(type='str', default='rw', choices=['rw', 'ro']),
        export=dict(type='dict', options=dict(
            rw=dict(type='list', elements='str'),
            ro=dict(type='list', elements='str'),
            root=dict(type='list', elements='str'),
            access=dict(type='list', elements='str'),
        )),
        exported=dict(type='bool'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ))
    cm.run(run)


if __name__ == '__main__':
    main()
