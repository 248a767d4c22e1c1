#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: celerra_upgrade
short_description: Upgrade (or roll back) the software of an EMC Celerra Control Station or its data movers
version_added: 0.1.0
description:
  - Brings the Control Station (O(component=control_station)) or data movers
    (O(component=data_movers)) to a software family such as V(5.1), starts the upgrade over the
    Control Station CLI and polls its status until it is done, has failed, or O(timeout) passes.
  - Does nothing when everything is already on the family.
  - Refuses mover code newer than the Control Station's before sending anything.
  - O(state=rolled_back) returns the Control Station to the version it had before its last upgrade
    (after a failed or unwanted upgrade).
  - While it polls, a status it cannot read is waited through (a transient SSH failure, a command
    that times out, a held lock (error 2201), a mover that is rebooting (error 2102), or status output
    that is empty or garbled). After O(poll_failures) such reads in a row it fails with
    RV(status_unknown=true) and says the operation may still be running; a good read starts the count
    again. Progress lines go to the module's log and to RV(progress).
  - O(state=rolled_back) never rolls back an upgrade that is still running. It waits for it to end
    (within O(timeout)); an upgrade that failed is then rolled back, and one that completed, leaving the
    Control Station consistent on its target, is left alone and the module fails with
    RV(upgrade_completed=true) and C(the upgrade completed after all; nothing rolled back). It fails rather
    than succeeds so that a caller that asked for a rollback does not go on as if the station were back on
    the old version. In check mode it reports the running upgrade (RV(upgrade_running=true)) without
    waiting. An upgrade that had already completed before the module ran is rolled back, unless
    O(rollback_completed=false).
  - Upgrades and rollbacks run on the Control Station, not in the module. With O(wait=false) the module
    starts one (or finds it already running) and returns at once; a later run with the same options and
    O(wait=true) waits for the one still running instead of starting another, finishes the work and
    checks the result. Run a task that waits long with C(async) and C(poll), so that the play reports
    each poll and its progress shows while it waits.
  - The upgrade procedure is site specific; the command options are templates whose defaults are the
    lab's C(nas_upgrade) (see the collection's C(docs/celerra-cli.md)).
extends_documentation_fragment:
  - mailops.window.celerra
  - mailops.window.celerra.attributes
  - mailops.window.celerra.actiongroup_celerra
attributes:
  check_mode:
    support: full
    details:
      - Reads the versions and the upgrade status, reports what would change and sends no upgrade or
        rollback command.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  component:
    description:
      - What to upgrade.
    type: str
    required: true
    choices: [control_station, data_movers]
  version:
    description:
      - The software family to reach, like V(5.1) (or a longer prefix like V(5.1.23)).
      - Required with O(state=present). With O(state=rolled_back), the version the station is
        expected to be on after the rollback; when the station is already on it nothing is done.
    type: str
  movers:
    description:
      - The data movers to upgrade (O(component=data_movers)). V(ALL) is every mover, upgraded with
        one command; named movers are upgraded one after the other.
    type: list
    elements: str
    default: [ALL]
  state:
    description:
      - V(present) brings the component to O(version).
      - V(rolled_back) returns the Control Station to its previous version (only with
        O(component=control_station)).
    type: str
    choices: [present, rolled_back]
    default: present
  timeout:
    description:
      - Seconds to wait for the whole upgrade or rollback to finish.
      - With O(state=rolled_back), this covers the wait for an upgrade still running as well as the rollback.
    type: int
    default: 5400
  poll_interval:
    description:
      - Seconds between two status polls.
    type: float
    default: 10
  wait:
    description:
      - Wait for the upgrade or rollback to end and check its result (and, for data movers, that they are
        back online on O(version)).
      - With V(false), start it (or find it already running) and return; RV(running) tells whether it is
        left running. O(timeout) is not used then.
      - V(false) with several named O(movers) is refused, as they are upgraded one after the other.
    type: bool
    default: true
  upgrade_command:
    description:
      - Command that starts the upgrade. Placeholders C({version}) and, for data movers, C({movers})
        (V(ALL) or one mover). The template is split into words first; each word is rendered and
        quoted on its own.
      - Default C(/nas/sbin/nas_upgrade -cs -to {version}) for the Control Station and
        C(/nas/sbin/nas_upgrade -dm {movers} -to {version}) for data movers.
    type: str
  rollback_command:
    description:
      - Command that rolls the Control Station back to its previous version.
    type: str
    default: /nas/sbin/nas_upgrade -cs -rollback
  status_command:
    description:
      - Command that prints the upgrade status, one line per component of
        C(component=<cs|server_N> state=<state> step=<n>/<m> step_name=<name> from=<v> to=<v> progress=<pct>).
    type: str
    default: /nas/sbin/nas_upgrade -status
  rollback_completed:
    description:
      - With O(state=rolled_back), whether an upgrade that has completed, leaving the Control Station consistent
        on its target, is rolled back.
      - V(false) leaves it alone and fails with RV(upgrade_completed=true); use it where the rollback is a
        recovery from a failure (a rescue), so that an upgrade whose wait failed but which completed is kept.
      - An upgrade that completes while the module waits for it is never rolled back, whatever this option.
    type: bool
    default: true
    version_added: 0.2.0
  poll_failures:
    description:
      - How many status reads in a row may fail (SSH session lost, command timed out, lock held, mover
        not ready, empty or unreadable output) before the module gives up with RV(status_unknown=true).
      - Each failed read is followed by another after O(poll_interval) seconds; a good read starts the count
        again. Must be at least 1.
    type: int
    default: 5
    version_added: 0.2.0
author:
  - mailops maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Upgrade the Control Station to 5.1
  mailops.window.celerra_upgrade:
    host: 127.0.0.1
    port: 2241
    private_key: .lab/ssh/id_ed25519
    known_hosts: .lab/known_hosts
    component: control_station
    version: "5.1"
    timeout: 1800
    poll_interval: 1
  delegate_to: localhost

- name: Then every data mover (refused while the station is older)
  mailops.window.celerra_upgrade:
    host: celerra-cs.example.net
    component: data_movers
    version: "5.1"
  delegate_to: localhost
  register: dm

- name: Start the Control Station upgrade and return at once; other work can run meanwhile
  mailops.window.celerra_upgrade:
    host: celerra-cs.example.net
    component: control_station
    version: "5.1"
    wait: false
  delegate_to: localhost

- name: Later, wait for it, with progress on each poll
  mailops.window.celerra_upgrade:
    host: celerra-cs.example.net
    component: control_station
    version: "5.1"
    timeout: 3600
    poll_interval: 10
  delegate_to: localhost
  async: 3900
  poll: 10

- name: Roll the station back after a failed upgrade
  mailops.window.celerra_upgrade:
    host: celerra-cs.example.net
    component: control_station
    state: rolled_back
    version: "4.2"
  delegate_to: localhost

- name: Wait for the upgrade; when the wait fails, roll back only an upgrade known to have failed
  block:
    - name: Wait for the Control Station upgrade, up to 10 failed status reads in a row
      mailops.window.celerra_upgrade:
        host: celerra-cs.example.net
        component: control_station
        version: "5.1"
        poll_failures: 10
      delegate_to: localhost
  rescue:
    # Waits for an upgrade still running; fails with status_unknown or upgrade_completed, rolling nothing
    # back, when the status cannot be read or the upgrade completed.
    - name: Roll the station back
      mailops.window.celerra_upgrade:
        host: celerra-cs.example.net
        component: control_station
        state: rolled_back
        version: "4.2"
        rollback_completed: false
      delegate_to: localhost

- name: Defaults for the whole group
  module_defaults:
    group/mailops.window.celerra:
      host: celerra-cs.example.net
      password: "{{ vault_nasadmin_password }}"
  block:
    - name: A site's own upgrade command
      mailops.window.celerra_upgrade:
        component: control_station
        version: "5.1"
        upgrade_command: /nas/sbin/site_upgrade --target {version} --yes
      delegate_to: localhost
'''

RETURN = r'''
component:
  description: The component that was handled.
  returned: always
  type: str
  sample: control_station
before:
  description: Versions before the run (the Control Station's, or each target mover's).
  returned: success
  type: dict
  sample: {control_station: 4.2.16-5}
after:
  description: Versions after the run; in check mode, or while O(wait=false) left the operation running,
    the family that would be reached.
  returned: success
  type: dict
  sample: {control_station: 5.1.23-2}
failed_step:
  description: Where an upgrade or rollback failed (component, step, steps, step_name).
  returned: when an upgrade step failed
  type: dict
  sample: {component: cs, step: 3, steps: 5, step_name: install_packages}
status:
  description: The last upgrade status read, per component.
  returned: when the status was read
  type: dict
  sample: {cs: {state: done, step: 5, steps: 5, step_name: restart_services, progress: 100}}
running:
  description: Whether the upgrade or rollback is left running on the Control Station (O(wait=false)).
  returned: when O(wait=false)
  type: bool
  sample: true
progress:
  description: The progress lines written to the log while polling.
  returned: when the module polled
  type: list
  elements: str
  sample: ["control station: running step 1/5 precheck"]
planned:
  description: The upgrade or rollback commands that ran (in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["env NAS_DB=/nas /nas/sbin/nas_upgrade -cs -to 5.1"]
commands:
  description: Every command line sent to the Control Station, in order (one SSH round trip each).
  returned: always
  type: list
  elements: str
  sample: ["env NAS_DB=/nas /nas/bin/nas_version"]
connections:
  description: Number of SSH connections made (more than 1 only after transient failures).
  returned: always
  type: int
  sample: 1
status_unknown:
  description:
    - V(true) when the module failed because it could not read the upgrade status (O(poll_failures) failed
      reads in a row, or an error reading it); the upgrade or rollback may still be running on the Control
      Station. Do not roll back on such a failure; read the status again first.
  returned: when the status could not be read
  type: bool
  sample: true
  version_added: 0.2.0
upgrade_running:
  description:
    - With O(state=rolled_back), V(true) when a Control Station upgrade was found still running (in check mode,
      or with O(wait=false), where the module does not wait for it and rolls nothing back).
  returned: when a rollback found the upgrade still running
  type: bool
  sample: true
  version_added: 0.2.0
upgrade_completed:
  description:
    - With O(state=rolled_back), V(true) when the upgrade completed and left the Control Station consistent on its
      target, either while the module waited for it or before (with O(rollback_completed=false)); nothing was
      rolled back and the module failed.
  returned: when a rollback found the upgrade completed
  type: bool
  sample: true
  version_added: 0.2.0
'''

import re

from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as parsers
from ansible_collections.mailops.window.plugins.module_utils._celerra_client import (
    Arg,
    CelerraClientError,
    CelerraParseError,
    CelerraPollError,
    CelerraTimeoutError,
    CommandTemplate,
)
from ansible_collections.mailops.window.plugins.module_utils._celerra_module import CelerraFailure, CelerraModule

DEFAULT_UPGRADE = {
    'control_station': '/nas/sbin/nas_upgrade -cs -to {version}',
    'data_movers': '/nas/sbin/nas_upgrade -dm {movers} -to {version}',
}


def _state_line(name, entry):
    label = 'control station' if name == 'cs' else name
    step = entry.get('step_name') or '-'
    # no percentage: a line is logged when it changes, so once per step and state
    return '%s: %s step %d/%d %s' % (label, entry['state'], entry['step'], entry['steps'], step)


def _public_status(status):
    return {name: {k: v for k, v in e.items() if k not in ('component', 'line')} for name, e in status.items()}


class Upgrade(object):

    def __init__(self, cm):
        self.cm = cm
        self.p = cm.params
        self.client = cm.client
        self.status = None
        self.planned = []
        self.deadline = self.client.clock() + self.p['timeout']
        comp = self.p['component']
        self.upgrade_tpl = CommandTemplate(
            self.p['upgrade_command'] or DEFAULT_UPGRADE[comp],
            ('version',) if comp == 'control_station' else ('version', 'movers'))
        self.rollback_tpl = CommandTemplate(self.p['rollback_command'], ())
        self.status_tpl = CommandTemplate(self.p['status_command'], ())

    # -- helpers --------------------------------------------------------------------------------
    def remaining(self):
        return max(0.0, self.deadline - self.client.clock())

    def read_status(self, need=('cs',)):
        """One status read; empty output, or output without a line for each of `need`, is unreadable."""
        result = self.client.run_template(self.status_tpl)
        status = self.client.parse(parsers.parse_upgrade_status, result, 'upgrade status')
        missing = [name for name in need if name not in status]
        if not status or missing:
            raise CelerraParseError('the upgrade status %s (command: %s)'
                                    % ('has no "%s" line' % '", "'.join(missing) if status else 'is empty',
                                       result['command']),
                                    command=result['command'], stdout=result['stdout'], stderr=result['stderr'],
                                    rc=result['rc'])
        self.status = status
        return self.status

    def start(self, template, **values):
        """Run a start command (upgrade or rollback); -> its stdout. Records it in `planned`."""
        argv = template.render(**values)
        self.planned.append(self.client.build(argv[0], argv[1:]))
        result = self.client.run_argv(argv)
        return result['stdout']

    def plan(self, template, **values):
        argv = template.render(**values)
        self.planned.append(self.client.build(argv[0], argv[1:]))

    def result(self, changed, before, after, **extra):
        res = {'changed': changed, 'component': self.p['component'], 'before': before, 'after': after,
               'planned': self.planned}
        if self.status is not None:
            res['status'] = _public_status(self.status)
        if changed and self.cm.diff_mode:
            res['diff'] = {'before': before, 'after': after}
        if not self.p['wait']:
            res['running'] = False
        res.update(extra)
        return res

    def left_running(self, before, after):
        """O(wait=false): the operation runs on the Control Station; a later call waits for it."""
        return self.result(True, before, after, running=True)

    def fail(self, msg, cause=None, **extra):
        if self.status is not None:
            extra.setdefault('status', _public_status(self.status))
        extra.setdefault('planned', self.planned)
        raise CelerraFailure(msg, cause=cause, component=self.p['component'], **extra)

    def poll(self, fetch, check, what, running=True):
        """client.poll with the module's interval, deadline and tolerance of failed reads.

        A status that could not be read (O(poll_failures) failed reads in a row, or, while an operation
        runs, an error that is not waited through) fails with status_unknown: whatever runs on the Control
        Station may still run.
        """
        try:
            return self.client.poll(fetch, check, timeout=self.remaining(), interval=self.p['poll_interval'],
                                    what=what, max_failures=self.p['poll_failures'])
        except CelerraTimeoutError as exc:
            self.fail('%s did not finish within %ss: %s%s'
                      % (what, self.p['timeout'], exc.details.get('last'), self.nothing_rolled_back()),
                      cause=None, timed_out=True)
        except CelerraPollError as exc:
            self.fail(exc.msg + self.nothing_rolled_back(), status_unknown=True)
        except CelerraClientError as exc:
            if not running:
                raise
            self.fail('%s: %s; the operation may still be running on the Control Station%s'
                      % (what, exc.msg, self.nothing_rolled_back()), cause=exc, status_unknown=True)

    def nothing_rolled_back(self):
        """What a failed read of a rollback run left undone, for its message."""
        if self.p['state'] == 'rolled_back' and not self.planned:
            return '; nothing rolled back'
        return ''

    def poll_status(self, check, what, need=('cs',)):
        return self.poll(lambda: self.read_status(need), check, what)

    def read_once(self, fetch, what):
        """One good read of fetch(), failed reads waited through as in a poll."""
        return self.poll(fetch, lambda value: (True, None), what, running=False)

    @staticmethod
    def failed_step(name, entry):
        return {'component': name, 'step': entry['step'], 'steps': entry['steps'], 'step_name': entry['step_name']}

    # -- control station ------------------------------------------------------------------------
    def station_done_check(self, family):
        def check(status):
            cs = status.get('cs')
            if cs is None:
                self.fail('the upgrade status has no "cs" line')
            line = _state_line('cs', cs)
            if cs['state'] == 'failed':
                self.status = status
                self.fail('control station upgrade %s -> %s failed at step %d/%d %s; roll it back with '
                          'state=rolled_back' % (cs['from'], cs['to'], cs['step'], cs['steps'], cs['step_name']),
                          failed_step=self.failed_step('cs', cs))
            if cs['state'] in ('rolling_back', 'rolled_back'):
                self.fail('the control station upgrade is being rolled back by another operation')
            done = cs['state'] == 'done' and cs['to'] is not None and parsers.version_in_family(cs['to'], family)
            return done, line
        return check

    def rollback_done_check(self):
        def check(status):
            cs = status.get('cs')
            if cs is None:
                self.fail('the upgrade status has no "cs" line')
            if cs['state'] == 'failed':
                self.fail('control station rollback failed at step %d/%d %s'
                          % (cs['step'], cs['steps'], cs['step_name']), failed_step=self.failed_step('cs', cs))
            return cs['state'] == 'rolled_back', _state_line('cs', cs)
        return check

    def verify_station(self, family=None):
        station = self.read_once(self.client.nas_version, 'control station version')
        if not station['consistent']:
            self.fail('the control station is still inconsistent after the operation: %s' % station['error'])
        if family and not parsers.version_in_family(station['version'], family):
            self.fail('the control station reports %s after the operation, not %s' % (station['version'], family))
        return station['version']

    def control_station_present(self):
        family = self.p['version']
        station = self.read_once(self.client.nas_version, 'control station version')
        if station['consistent']:
            before = {'control_station': station['version']}
            if parsers.version_in_family(station['version'], family):
                return self.result(False, before, before)
            if not parsers.family_newer_than(family, station['version']):
                self.fail('the control station is on %s, newer than %s; use state=rolled_back to return to its '
                          'previous version' % (station['version'], family))
            if self.cm.check_mode:
                self.plan(self.upgrade_tpl, version=family)
                return self.result(True, before, {'control_station': family})
            out = self.start(self.upgrade_tpl, version=family)
            if re.search(r'already at', out):
                return self.result(False, before, before)
            self.client.note('control station: upgrade %s -> %s started' % (station['version'], family))
            if not self.p['wait']:
                return self.left_running(before, {'control_station': family})
        else:
            info = station['upgrade'] or {}
            before = {'control_station': None, 'inconsistent': station['error']}
            if not (info.get('in_progress') and info.get('to') and parsers.version_in_family(info['to'], family)):
                self.fail('the control station is inconsistent: %s; roll it back with state=rolled_back'
                          % station['error'],
                          failed_step={'component': 'cs', 'step': info.get('step'), 'steps': info.get('steps'),
                                       'step_name': info.get('step_name')} if info.get('step') else None)
            if self.cm.check_mode:
                return self.result(True, before, {'control_station': family})
            if not self.p['wait']:
                self.client.note('control station: an upgrade %s -> %s is already running'
                                 % (info.get('from'), info.get('to')))
                return self.left_running(before, {'control_station': family})
            self.client.note('control station: an upgrade %s -> %s is already running, waiting for it'
                             % (info.get('from'), info.get('to')))
        self.poll_status(self.station_done_check(family), 'control station upgrade')
        after = {'control_station': self.verify_station(family)}
        return self.result(True, before, after)

    def upgrade_end_check(self):
        """Done once the Control Station upgrade no longer runs (whatever its end)."""
        def check(status):
            cs = status['cs']
            return cs['state'] != 'running', _state_line('cs', cs)
        return check

    def completed_on_target(self, station, cs):
        """True when the upgrade `cs` is done and the station is consistent on its target."""
        return (cs['state'] == 'done' and cs['to'] is not None and station['consistent']
                and (station['version'] == cs['to']
                     or parsers.version_in_family(station['version'], '.'.join(cs['to'].split('.')[:2]))))

    def control_station_rolled_back(self):
        family = self.p['version']
        station = self.read_once(self.client.nas_version, 'control station version')
        before = {'control_station': station['version']}
        if not station['consistent']:
            before['inconsistent'] = station['error']
        if station['consistent'] and family and parsers.version_in_family(station['version'], family):
            return self.result(False, before, before)
        status = self.read_once(self.read_status, 'upgrade status')
        cs = status['cs']
        if not self.p['rollback_completed'] and self.completed_on_target(station, cs):
            self.fail('the control station upgrade %s -> %s has completed and the control station is consistent on '
                      '%s; nothing rolled back (rollback_completed=false)' % (cs['from'], cs['to'], station['version']),
                      upgrade_completed=True, changed=False, before=before, after=before)
        if cs['state'] == 'running':
            # An upgrade that still runs is never rolled back: wait for its end, then decide.
            running = 'the upgrade %s -> %s is still running (step %d/%d %s)' % (
                cs['from'], cs['to'], cs['step'], cs['steps'], cs['step_name'] or '-')
            if self.cm.check_mode:
                self.client.note('control station: %s; it would be waited for, and rolled back only if it fails'
                                 % running)
                return self.result(True, before, {'control_station': family or cs.get('from') or 'previous'},
                                   upgrade_running=True)
            if not self.p['wait']:
                self.fail('control station: %s; nothing rolled back (wait=false does not wait for it to end)'
                          % running, upgrade_running=True, before=before)
            self.client.note('control station: %s; waiting for it to end before rolling back' % running)
            self.poll_status(self.upgrade_end_check(), 'control station upgrade')
            cs = self.status['cs']
            station = self.read_once(self.client.nas_version, 'control station version')
            if self.completed_on_target(station, cs):
                after = {'control_station': station['version']}
                self.fail('the control station upgrade %s -> %s completed after all; nothing rolled back (the '
                          'control station is consistent on %s)' % (cs['from'], cs['to'], station['version']),
                          upgrade_completed=True, changed=False, before=before, after=after)
            if station['consistent'] and family and parsers.version_in_family(station['version'], family):
                return self.result(False, before, {'control_station': station['version']})
        if cs['state'] == 'rolling_back':
            if self.cm.check_mode:
                return self.result(True, before, {'control_station': family or cs.get('to') or 'previous'})
            if not self.p['wait']:
                self.client.note('control station: a rollback is already running')
                return self.left_running(before, {'control_station': family or cs.get('to') or 'previous'})
            self.client.note('control station: a rollback is already running, waiting for it')
        elif station['consistent'] and cs['state'] in ('idle', 'rolled_back'):
            if family:
                self.fail('the control station is on %s and has no upgrade to roll back to reach %s'
                          % (station['version'], family))
            return self.result(False, before, before)
        else:
            target = family or cs.get('from') or 'previous'
            if self.cm.check_mode:
                self.plan(self.rollback_tpl)
                return self.result(True, before, {'control_station': target})
            self.start(self.rollback_tpl)
            self.client.note('control station: rollback started (the upgrade %s -> %s was %s at step %d/%d)'
                             % (cs['from'], cs['to'], cs['state'], cs['step'], cs['steps']))
            if not self.p['wait']:
                return self.left_running(before, {'control_station': target})
        self.poll_status(self.rollback_done_check(), 'control station rollback')
        after = {'control_station': self.verify_station(family)}
        return self.result(True, before, after)

    # -- data movers ----------------------------------------------------------------------------
    def movers_done_check(self, movers, family):
        def check(status):
            lines = []
            done = True
            for mover in movers:
                entry = status.get(mover)
                if entry is None:
                    self.fail('the upgrade status has no line for %s' % mover)
                lines.append(_state_line(mover, entry))
                if entry['state'] == 'failed':
                    self.status = status
                    self.fail('data mover upgrade of %s failed at step %d/%d %s' % (
                        mover, entry['step'], entry['steps'], entry['step_name']),
                        failed_step=self.failed_step(mover, entry))
                if not (entry['state'] == 'done' and entry['to'] and parsers.version_in_family(entry['to'], family)):
                    done = False
            return done, '; '.join(lines)
        return check

    def movers_ready_check(self, movers, family):
        def check(versions):
            waiting = [m for m in movers if not (versions.get(m, {}).get('ready')
                                                 and parsers.version_in_family(versions[m]['version'], family))]
            line = 'data movers: waiting for %s to report %s' % (', '.join(waiting), family) if waiting else None
            return not waiting, line
        return check

    def data_movers_present(self):
        family = self.p['version']
        requested = self.p['movers']
        station = self.client.nas_version()
        if not station['consistent']:
            self.fail('the control station is inconsistent (%s); it must be upgraded or rolled back before the '
                      'data movers' % station['error'])
        if parsers.family_newer_than(family, station['version']):
            self.fail('refusing to install data mover code %s: it is newer than the control station\'s %s; '
                      'upgrade the control station first' % (family, station['version']),
                      before={'control_station': station['version']})
        known = [m['name'] for m in self.client.nas_server_list()]
        if 'ALL' in requested:
            targets = known
        else:
            unknown = [m for m in requested if m not in known]
            if unknown:
                self.fail('unknown data mover(s): %s (the Control Station has %s)'
                          % (', '.join(unknown), ', '.join(known)))
            targets = list(dict.fromkeys(requested))
        versions = self.client.server_version('ALL')
        before = {m: (versions.get(m) or {}).get('version') for m in targets}
        status = self.read_once(lambda: self.read_status(need=()), 'upgrade status')
        running = sorted(name for name, e in status.items()
                         if e['state'] in ('running', 'rolling_back'))
        if running:
            ours = [m for m in running if m in targets and status[m]['to']
                    and parsers.version_in_family(status[m]['to'], family)]
            if ours != running:
                self.fail('another upgrade is running (%s); try again when it has finished' % ', '.join(running))
            if self.cm.check_mode:
                return self.result(True, before, dict((m, family) for m in targets))
            if not self.p['wait']:
                self.client.note('data movers: an upgrade of %s to %s is already running'
                                 % (', '.join(ours), family))
                return self.left_running(before, dict((m, family) for m in targets))
            self.client.note('data movers: an upgrade of %s to %s is already running, waiting for it'
                             % (', '.join(ours), family))
            self.poll_status(self.movers_done_check(ours, family), 'data mover upgrade', need=ours)
            versions = self.client.server_version('ALL')
        need = [m for m in targets if not ((versions.get(m) or {}).get('ready')
                                           and parsers.version_in_family(versions[m]['version'], family))]
        if not need:
            after = {m: versions[m]['version'] for m in targets}
            return self.result(bool(running), before, after)
        not_ready = [m for m in need if not (versions.get(m) or {}).get('ready')]
        if not_ready:
            details = '; '.join('%s: %s' % (m, ((versions.get(m) or {}).get('error') or {}).get('message', 'no version'))
                                for m in not_ready)
            self.fail('data mover(s) not ready, not upgrading: %s' % details, before=before)
        if 'ALL' in requested and need == targets:
            batches = [('ALL', need)]
        else:
            batches = [(m, [m]) for m in need]
        if self.cm.check_mode:
            for arg, dummy in batches:
                self.plan(self.upgrade_tpl, version=family, movers=arg)
            after = dict(before)
            after.update((m, family) for m in need)
            return self.result(True, before, after)
        for arg, movers in batches:
            out = self.start(self.upgrade_tpl, version=family, movers=arg)
            if re.search(r'already at', out):
                continue
            self.client.note('data movers: upgrade of %s to %s started' % (', '.join(movers), family))
            if not self.p['wait']:
                after = dict(before)
                after.update((m, family) for m in need)
                return self.left_running(before, after)
            self.poll_status(self.movers_done_check(movers, family), 'data mover upgrade of %s' % ', '.join(movers),
                             need=movers)
        if not self.p['wait']:
            # every command answered "already at": nothing was started, so nothing is left running
            versions = self.client.server_version('ALL')
            return self.result(False, before, {m: (versions.get(m) or {}).get('version') for m in targets})
        try:
            versions = self.client.poll(lambda: self.client.server_version('ALL'),
                                        self.movers_ready_check(need, family), timeout=self.remaining(),
                                        interval=self.p['poll_interval'], what='data movers back online',
                                        max_failures=self.p['poll_failures'])
        except CelerraTimeoutError as exc:
            self.fail('the data movers did not come back on %s within %ss: %s'
                      % (family, self.p['timeout'], exc.details.get('last')), timed_out=True)
        except CelerraPollError as exc:
            self.fail(exc.msg, status_unknown=True)
        after = {m: versions[m]['version'] for m in targets}
        return self.result(True, before, after)


def run(cm):
    p = cm.params
    if p['state'] == 'present' and not p['version']:
        raise CelerraFailure('version is required with state=present')
    if p['version'] is not None:
        Arg.family(p['version'])
    if p['state'] == 'rolled_back' and p['component'] != 'control_station':
        raise CelerraFailure('state=rolled_back is only supported for component=control_station')
    if p['component'] == 'data_movers':
        for mover in p['movers']:
            Arg.mover(mover, allow_all=True)
        if 'ALL' in p['movers'] and len(p['movers']) > 1:
            raise CelerraFailure('movers: ALL cannot be combined with named movers')
        if not p['wait'] and len(set(p['movers'])) > 1:
            raise CelerraFailure('wait=false starts one upgrade command: give movers ALL or one mover '
                                 '(named movers are upgraded one after the other)')
    if p['timeout'] <= 0 or p['poll_interval'] <= 0:
        raise CelerraFailure('timeout and poll_interval must be positive')
    if p['poll_failures'] < 1:
        raise CelerraFailure('poll_failures must be at least 1')
    upgrade = Upgrade(cm)
    if p['component'] == 'control_station':
        if p['state'] == 'rolled_back':
            return upgrade.control_station_rolled_back()
        return upgrade.control_station_present()
    return upgrade.data_movers_present()


def main():
    cm = CelerraModule(dict(
        component=dict(type='str', required=True, choices=['control_station', 'data_movers']),
        version=dict(type='str'),
        movers=dict(type='list', elements='str', default=['ALL']),
        state=dict(type='str', default='present', choices=['present', 'rolled_back']),
        timeout=dict(type='int', default=5400),
        poll_interval=dict(type='float', default=10),
        wait=dict(type='bool', default=True),
        upgrade_command=dict(type='str'),
        rollback_command=dict(type='str', default='/nas/sbin/nas_upgrade -cs -rollback'),
        status_command=dict(type='str', default='/nas/sbin/nas_upgrade -status'),
        poll_failures=dict(type='int', default=5),
        rollback_completed=dict(type='bool', default=True),
    ))
    cm.run(run)


if __name__ == '__main__':
    main()
