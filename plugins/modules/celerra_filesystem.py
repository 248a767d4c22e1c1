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
  returned: success
  type: dict
  sample:
    mover: server_2
    mountpoint: /fs_store1
    mount_options: rw
    exported: true
    export: {rw: [mta1, mta2], ro: [], root: [mta1, mta2], access: [mta1, mta2]}
after:
  description: Where the file system is after the run (in check mode, would be).
  returned: success
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
        """-> list of (mover, argv) in the order they must run; validates every argument."""
        c = self.client
        steps = []
        name = self.p['name']
        moved = before['mover'] is not None and (
            before['mover'] != after['mover'] or before['mountpoint'] != after['mountpoint']
            or before['mount_options'] != after['mount_options'])
        if moved:
            if before['exported']:
                steps.append((before['mover'], c.server_unexport_argv(before['mover'], before['mountpoint'])))
            steps.append((before['mover'], c.server_umount_argv(before['mover'], name)))
        if after['mover'] is None:
            return steps
        if before['mover'] is None or moved:
            self.mountpoint_free(after['mover'], after['mountpoint'])
            steps.append((after['mover'], c.server_mount_argv(after['mover'], name, after['mountpoint'],
                                                              after['mount_options'])))
            if after['exported']:
                steps.append((after['mover'], c.server_export_argv(after['mover'], after['mountpoint'],
                                                                   after['export'])))
        elif after['exported'] and not same_export(before['export'], after['export']):
            steps.append((after['mover'], c.server_export_argv(after['mover'], after['mountpoint'], after['export'])))
        elif before['exported'] and not after['exported']:
            steps.append((after['mover'], c.server_unexport_argv(after['mover'], after['mountpoint'])))
        return steps

    # -- run ------------------------------------------------------------------------------------
    def run(self):
        self.validate()
        before = self.current()
        after = self.desired(before)
        steps = self.plan(before, after)
        planned = [self.client.line(argv) for dummy, argv in steps]
        changed = bool(steps)
        if changed and not self.cm.check_mode:
            for (mover, argv), line in zip(steps, planned):
                try:
                    result = self.client.run_argv(argv)
                except CelerraClientError as exc:
                    raise CelerraFailure('%s failed: %s' % (line, exc.msg), cause=exc, changed=bool(self.changes),
                                         changes=self.changes, failed_change=line, before=before)
                if not parsers.parse_mover_done(result['stdout'], mover):
                    raise CelerraFailure('%s printed no "%s : done": %s' % (line, mover, result['stdout'].strip()),
                                         changed=True, changes=self.changes + [line], failed_change=line,
                                         before=before)
                self.changes.append(line)
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
