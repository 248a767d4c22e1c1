#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: celerra_info
short_description: Gather the state of an EMC Celerra over its Control Station CLI
version_added: 0.1.0
description:
  - Reads, over SSH, the Control Station's software version (or the inconsistent state a failed
    upgrade leaves), every data mover (id, slot, type, boot reason, code version), the file systems
    and where they are mounted, the NFS exports of every mover, the upgrade status lines and the
    C(nas_checkup) summary.
  - Runs on the controller and never changes anything on the Celerra.
  - O(gather_subset) limits the commands (and so the SSH round trips) to what is asked for.
  - With O(wait_for_upgrades=true) it first waits until no upgrade or rollback runs on the Control
    Station (a run interrupted during an upgrade leaves the job running there), polling O(status_command)
    and waiting through transient SSH failures. Run such a task with C(async) and C(poll), so that the play
    reports each poll and its progress shows while it waits.
extends_documentation_fragment:
  - mailops.window.celerra
  - mailops.window.celerra.attributes
  - mailops.window.celerra.actiongroup_celerra
  - mailops.window.celerra.info_module
options:
  gather_subset:
    description:
      - What to gather. V(all) is everything.
      - V(versions) the Control Station version and each mover's code version (C(nas_version),
        C(server_version ALL)).
      - V(movers) each mover with its id, slot, type, boot reason and version (C(nas_server -list),
        C(getreason), C(server_version ALL)).
      - V(filesystems) the file systems and their mover and mount point (C(nas_fs -list),
        C(nas_server -list), C(server_mount) of each mover that has one mounted).
      - V(exports) the NFS exports of each mover (C(server_export <mover> -list)).
      - V(upgrade) the upgrade status lines (O(status_command)).
      - V(checkup) the C(nas_checkup) summary.
    type: list
    elements: str
    choices: [all, versions, movers, filesystems, exports, upgrade, checkup]
    default: [all]
  status_command:
    description:
      - Command that prints the upgrade status, one C(key=value) line per component. The lab's
        command is the default; a real site can put its own.
    type: str
    default: /nas/sbin/nas_upgrade -status
  wait_for_upgrades:
    description:
      - Before gathering, wait until no component of the upgrade status is V(running) or V(rolling_back).
      - Fails when one still is after O(wait_timeout) seconds.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds O(wait_for_upgrades) waits at most.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two status polls of O(wait_for_upgrades).
    type: float
    default: 10
author:
  - mailops maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Gather everything
  mailops.window.celerra_info:
    host: celerra-cs.example.net
    password: "{{ vault_nasadmin_password }}"
  delegate_to: localhost
  register: celerra

- name: Only versions and the upgrade status (three commands)
  mailops.window.celerra_info:
    host: 127.0.0.1
    port: 2241
    private_key: .lab/ssh/id_ed25519
    known_hosts: .lab/known_hosts
    gather_subset: [versions, upgrade]
  delegate_to: localhost
  register: celerra

- name: Let an upgrade job still running on the Control Station end, then read the versions
  mailops.window.celerra_info:
    host: celerra-cs.example.net
    gather_subset: [versions]
    wait_for_upgrades: true
    wait_timeout: 7200
    poll_interval: 10
  delegate_to: localhost
  async: 7500
  poll: 10
  register: celerra

- name: Refuse to start when a check fails
  ansible.builtin.assert:
    that: celerra.checkup.status != 'fail'
    fail_msg: "nas_checkup: {{ celerra.checkup.failing | map(attribute='check') | join(', ') }}"
  when: celerra.checkup is defined
'''

RETURN = r'''
control_station:
  description: The Control Station's software (subset V(versions)).
  returned: when versions is gathered
  type: dict
  contains:
    version:
      description: C(MAJOR.MINOR.PATCH-BUILD), or null while the station is inconsistent.
      type: str
      sample: 4.2.16-5
    consistent:
      description: False while an upgrade runs or after it failed, until it is rolled back (error 5005).
      type: bool
      sample: true
    error:
      description: The 5005 error line when inconsistent.
      type: str
      sample: null
    upgrade:
      description: From the 5005 message, the upgrade's from, to, step, steps, step_name and in_progress.
      type: dict
      sample: null
mover_versions:
  description: Code version of each mover (C(T4.2.16.5)), null for a mover that is not ready.
  returned: when versions is gathered
  type: dict
  sample: {server_2: T4.2.16.5, server_3: T4.2.16.5}
movers:
  description: The data movers.
  returned: when movers is gathered
  type: list
  elements: dict
  sample:
    - name: server_2
      id: 1
      slot: 2
      type: nas
      state: 0
      reason_code: 5
      reason: contacted
      reason_text: slot_2 contacted
      version: T4.2.16.5
      ready: true
filesystems:
  description: The file systems (root file systems included, flagged C(root)).
  returned: when filesystems is gathered
  type: list
  elements: dict
  sample:
    - id: 25
      name: fs_store1
      inuse: true
      root: false
      mover: server_2
      mountpoint: /fs_store1
      mount_options: rw
exports:
  description: NFS exports per mover; each with path and the host lists rw, ro, root and access.
  returned: when exports is gathered
  type: dict
  sample:
    server_2:
      - path: /fs_store1
        rw: [mta1, mta2]
        ro: []
        root: [mta1, mta2]
        access: [mta1, mta2]
    server_3: []
upgrade:
  description: The upgrade status per component (C(cs), C(server_2) ...).
  returned: when upgrade is gathered
  type: dict
  sample:
    cs: {state: idle, step: 0, steps: 0, step_name: null, from: 4.2.16-5, to: null, progress: 0}
checkup:
  description: The C(nas_checkup) summary.
  returned: when checkup is gathered
  type: dict
  contains:
    status:
      description: V(pass), V(warning) (warnings only) or V(fail) (any check failed).
      type: str
      sample: pass
    failing:
      description: The checks that did not pass (category, check, result).
      type: list
      elements: dict
      sample: []
    checks:
      description: Every check with its result.
      type: list
      elements: dict
      sample: []
waited_for:
  description: The components whose upgrade or rollback O(wait_for_upgrades) waited for (empty when none ran).
  returned: when O(wait_for_upgrades=true)
  type: list
  elements: str
  sample: [cs]
progress:
  description: The progress lines written to the log while O(wait_for_upgrades) polled.
  returned: when the module polled
  type: list
  elements: str
  sample: ["upgrade jobs: waiting for control station: running step 2/5 backup_nas_db"]
errors:
  description: Errors of single movers that did not stop the gathering (a mover not ready, code 2102).
  returned: always
  type: list
  elements: dict
  sample: [{subject: server_3, code: 2102, message: data mover not ready (reason 7), command: server_export}]
commands:
  description: Every command line sent to the Control Station, in order (one SSH round trip each).
  returned: always
  type: list
  elements: str
  sample: ["env NAS_DB=/nas /nas/bin/nas_version"]
connections:
  description: Number of SSH connections made (1 unless a transient failure forced a reconnect).
  returned: always
  type: int
  sample: 1
'''

from ansible_collections.mailops.window.plugins.module_utils._celerra_client import (
    CelerraCommandError,
    CelerraTimeoutError,
    CommandTemplate,
    NOT_READY,
)
from ansible_collections.mailops.window.plugins.module_utils._celerra_module import CelerraFailure, CelerraModule
from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as parsers

SUBSETS = ('versions', 'movers', 'filesystems', 'exports', 'upgrade', 'checkup')
ACTIVE_STATES = ('running', 'rolling_back')


def resolve_subsets(requested):
    if 'all' in requested:
        return set(SUBSETS)
    return set(requested)


class Gatherer(object):
    """Gathers the asked subsets; every command is run at most once (cached)."""

    def __init__(self, client, status_command):
        self.client = client
        self.status_command = status_command
        self.errors = []
        self._cache = {}

    def _once(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def server_list(self):
        return self._once('nas_server', self.client.nas_server_list)

    def server_versions(self):
        return self._once('server_version', self.client.server_version)

    def tolerate(self, fn, what):
        """Run a per-mover read; a mover that is not ready is recorded in `errors`, not fatal."""
        try:
            return fn()
        except CelerraCommandError as exc:
            if exc.code != NOT_READY:
                raise
            self.errors.append({'subject': exc.subject, 'code': exc.code, 'message': exc.message, 'command': what})
            return None

    def versions(self):
        station = self.client.nas_version()
        movers = {name: v['version'] for name, v in self.server_versions().items()}
        for name, v in self.server_versions().items():
            if v['error']:
                self.errors.append(dict(v['error'], command='server_version'))
        return {'control_station': station, 'mover_versions': movers}

    def movers(self):
        reasons = {e['mover']: e for e in self.client.getreason() if e['mover']}
        versions = self.server_versions()
        result = []
        for mover in self.server_list():
            reason = reasons.get(mover['name'])
            version = versions.get(mover['name']) or {}
            result.append({
                'name': mover['name'], 'id': mover['id'], 'slot': mover['slot'], 'type': mover['type'],
                'state': mover['state'],
                'reason_code': reason['code'] if reason else None,
                'reason': reason['reason'] if reason else None,
                'reason_text': 'slot_%d %s' % (reason['slot'], reason['text']) if reason else None,
                'version': version.get('version'),
                'ready': bool(version.get('ready')) and (reason is None or reason['code'] in (4, 5)),
            })
        return result

    def filesystems(self):
        by_id = {m['id']: m['name'] for m in self.server_list()}
        fss = self.client.nas_fs_list()
        mounts = {}
        for mover in sorted({by_id.get(fs['server']) for fs in fss if fs['server'] is not None} - {None}):
            listing = self.tolerate(lambda: self.client.server_mount_list(mover), 'server_mount')
            mounts[mover] = {m['fs']: m for m in listing['mounts']} if listing else None
        result = []
        for fs in fss:
            mover = by_id.get(fs['server']) if fs['server'] is not None else None
            mount = (mounts.get(mover) or {}).get(fs['name']) if mover else None
            result.append({
                'id': fs['id'], 'name': fs['name'], 'inuse': fs['inuse'], 'root': fs['root'],
                'mover': mover, 'mountpoint': mount['mountpoint'] if mount else None,
                'mount_options': mount['mode'] if mount else None,
            })
        return result

    def exports(self):
        result = {}
        for mover in self.server_list():
            listing = self.tolerate(lambda: self.client.server_export_list(mover['name']), 'server_export')
            if listing is None:
                result[mover['name']] = None
                continue
            entries = []
            for export in listing['exports']:
                entry = {'path': export['path']}
                for key in parsers.EXPORT_OPTION_KEYS:
                    entry[key] = export['options'].get(key, [])
                if export['other']:
                    entry['other'] = export['other']
                entries.append(entry)
            result[mover['name']] = entries
        return result

    def upgrade_status(self):
        template = CommandTemplate(self.status_command, ())
        result = self.client.run_template(template)
        return self.client.parse(parsers.parse_upgrade_status, result, 'upgrade status')

    def upgrade(self):
        return {name: {k: v for k, v in entry.items() if k not in ('component', 'line')}
                for name, entry in self.upgrade_status().items()}

    def wait_for_upgrades(self, timeout, interval):
        """Poll the upgrade status until nothing runs; -> the components that were running."""
        seen = []

        def check(status):
            active = [name for name in sorted(status) if status[name]['state'] in ACTIVE_STATES]
            seen.extend(name for name in active if name not in seen)
            if not active:
                return True, None
            return False, 'upgrade jobs: waiting for %s' % '; '.join(
                '%s: %s step %s/%s %s' % ('control station' if name == 'cs' else name, status[name]['state'],
                                          status[name]['step'], status[name]['steps'],
                                          status[name]['step_name'] or '-')
                for name in active)
        try:
            self.client.poll(self.upgrade_status, check, timeout=timeout, interval=interval, what='upgrade jobs')
        except CelerraTimeoutError as exc:
            raise CelerraFailure('an upgrade job still runs on the Control Station after %ss: %s'
                                 % (timeout, exc.details.get('last')), timed_out=True, waited_for=seen)
        return seen

    def checkup(self):
        report = self.client.nas_checkup()
        return {'status': report['status'], 'failing': report['failing'], 'checks': report['checks'],
                'version': report['version'], 'log': report['log'], 'rc': report['rc']}


def gather(cm):
    p = cm.params
    subsets = resolve_subsets(p['gather_subset'])
    # the template is checked before anything is sent
    CommandTemplate(p['status_command'], ())
    if p['wait_for_upgrades'] and (p['wait_timeout'] <= 0 or p['poll_interval'] <= 0):
        raise CelerraFailure('wait_timeout and poll_interval must be positive')
    g = Gatherer(cm.client, p['status_command'])
    result = {'changed': False}
    if p['wait_for_upgrades']:
        result['waited_for'] = g.wait_for_upgrades(p['wait_timeout'], p['poll_interval'])
    if 'versions' in subsets:
        result.update(g.versions())
    if 'movers' in subsets:
        result['movers'] = g.movers()
    if 'filesystems' in subsets:
        result['filesystems'] = g.filesystems()
    if 'exports' in subsets:
        result['exports'] = g.exports()
    if 'upgrade' in subsets:
        result['upgrade'] = g.upgrade()
    if 'checkup' in subsets:
        result['checkup'] = g.checkup()
    result['errors'] = g.errors
    return result


def main():
    cm = CelerraModule(dict(
        gather_subset=dict(type='list', elements='str', default=['all'],
                           choices=['all'] + list(SUBSETS)),
        status_command=dict(type='str', default='/nas/sbin/nas_upgrade -status'),
        wait_for_upgrades=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=3600),
        poll_interval=dict(type='float', default=10),
    ))
    cm.run(gather)


if __name__ == '__main__':
    main()
