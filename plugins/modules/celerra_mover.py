#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: celerra_mover
short_description: Reboot an EMC Celerra data mover and wait until it is ready
version_added: 0.1.0
description:
  - Reads the boot reason of a data mover (C(getreason)) and makes it ready, that is reason 5
    (C(contacted)).
  - A mover that is not ready, for example panicked (reason 7), is rebooted with
    C(server_cpu <mover> -reboot now); then C(getreason) is polled until the mover is contacted
    again, panics again, or O(timeout) passes.
  - O(state=rebooted) always reboots the mover and waits until it is ready.
  - A mover that is booting already (reasons 0 to 4) is never rebooted in the middle of that boot;
    the module first waits for the boot to end. When it ends ready, O(state=ready) has nothing to do;
    when it ends in a panic, the mover is rebooted.
  - The mover must be one the Control Station lists (C(nas_server -list)); an unknown mover fails
    before any change is sent.
  - While it polls, transient SSH failures are waited through; progress lines (each new reason
    code) go to the module's log and to RV(progress).
extends_documentation_fragment:
  - mailops.window.celerra
  - mailops.window.celerra.attributes
  - mailops.window.celerra.actiongroup_celerra
attributes:
  check_mode:
    support: full
    details:
      - Reads the mover's reason, reports whether it would be rebooted and sends no C(server_cpu)
        command. A mover that is booting is not waited for; it is reported as not needing a reboot,
        with a warning.
  diff_mode:
    support: full
    details:
      - The mover's reason before and after.
  idempotent:
    support: partial
    details:
      - O(state=ready) changes nothing on a ready mover. O(state=rebooted) reboots the mover on every run.
options:
  name:
    description:
      - The data mover, C(server_N).
    type: str
    required: true
  state:
    description:
      - V(ready) reboots the mover only when it is not ready (its reason is not 5).
      - V(rebooted) reboots the mover in any case.
      - Both wait until the mover is ready again.
    type: str
    choices: [ready, rebooted]
    default: ready
  timeout:
    description:
      - Seconds to wait, in all, for a boot in progress to end and for the mover to come back
        after the reboot.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two C(getreason) polls.
    type: float
    default: 5
author:
  - mailops maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Bring a panicked data mover back (nothing is done when it is ready)
  mailops.window.celerra_mover:
    host: 127.0.0.1
    port: 2241
    private_key: .lab/ssh/id_ed25519
    known_hosts: .lab/known_hosts
    name: server_3
    poll_interval: 1
  delegate_to: localhost
  register: mover

- name: Reboot server_2 and wait until it is contacted again
  mailops.window.celerra_mover:
    host: celerra-cs.example.net
    password: "{{ vault_nasadmin_password }}"
    name: server_2
    state: rebooted
    timeout: 900
  delegate_to: localhost

- name: Would server_3 be rebooted?
  mailops.window.celerra_mover:
    host: celerra-cs.example.net
    name: server_3
  check_mode: true
  delegate_to: localhost
  register: would
'''

RETURN = r'''
mover:
  description: The data mover handled.
  returned: always
  type: str
  sample: server_3
before:
  description: The mover's boot reason before the run.
  returned: when it was read
  type: dict
  contains:
    reason_code:
      description: The C(getreason) code (0 reset, 1 DOS booted, 3 DART loaded, 4 DART ready, 5 contacted, 7 panic).
      type: int
      sample: 7
    reason:
      description: The text C(getreason) printed for the code.
      type: str
      sample: panic
    ready:
      description: Whether the mover was ready (reason 5).
      type: bool
      sample: false
after:
  description:
    - The mover's boot reason after the run (in check mode, what it would be). On a failure, the
      last reason read.
  returned: when it was read
  type: dict
  contains:
    reason_code:
      description: The C(getreason) code.
      type: int
      sample: 5
    reason:
      description: The text C(getreason) printed for the code.
      type: str
      sample: contacted
    ready:
      description: Whether the mover is ready (reason 5).
      type: bool
      sample: true
  sample: {reason_code: 5, reason: contacted, ready: true}
rebooted:
  description: Whether the mover was rebooted (in check mode, would be).
  returned: always
  type: bool
  sample: true
timed_out:
  description: True when the mover did not become ready within O(timeout).
  returned: when the wait timed out
  type: bool
  sample: true
progress:
  description: The progress lines written to the log while polling (each new reason once).
  returned: when the module polled
  type: list
  elements: str
  sample: ["server_3: reboot started", "server_3: reason 0 (reset)", "server_3: reason 5 (contacted)"]
commands:
  description: Every command line sent to the Control Station, in order (one SSH round trip each).
  returned: always
  type: list
  elements: str
  sample: ["env NAS_DB=/nas /nas/bin/nas_server -list", "env NAS_DB=/nas /nas/sbin/getreason",
           "env NAS_DB=/nas /nas/bin/server_cpu server_3 -reboot now"]
connections:
  description: Number of SSH connections made (more than 1 only after transient failures).
  returned: always
  type: int
  sample: 1
'''

import re

from ansible_collections.mailops.window.plugins.module_utils import _celerra_parsers as parsers
from ansible_collections.mailops.window.plugins.module_utils._celerra_client import (
    Arg,
    CelerraArgumentError,
    CelerraClientError,
    CelerraTimeoutError,
)
from ansible_collections.mailops.window.plugins.module_utils._celerra_module import CelerraFailure, CelerraModule

READY = 5
PANIC = 7


def describe(state):
    return 'reason %d (%s)' % (state['reason_code'], state['reason'])


class Mover(object):

    def __init__(self, cm):
        self.cm = cm
        self.p = cm.params
        self.name = self.p['name']
        self.client = cm.client
        self.deadline = self.client.clock() + self.p['timeout']
        self.before = None
        self.last = None
        self.rebooted = False

    # -- reading ------------------------------------------------------------------------------
    def read(self):
        """-> {reason_code, reason, ready} of the mover, from one getreason."""
        entries = [e for e in self.client.getreason() if e['mover'] == self.name]
        if not entries:
            self.fail('getreason has no line for %s' % self.name)
        entry = entries[0]
        self.last = {'reason_code': entry['code'], 'reason': entry['text'] or entry['reason'],
                     'ready': entry['code'] == READY}
        return self.last

    def remaining(self):
        return max(0.0, self.deadline - self.client.clock())

    def wait(self, check, what):
        """Poll getreason until check says done; a timeout fails naming the last reason read."""
        try:
            return self.client.poll(self.read, check, timeout=self.remaining(), interval=self.p['poll_interval'],
                                    what=what)
        except CelerraTimeoutError as exc:
            last = describe(self.last) if self.last else 'no reason read'
            problem = exc.details.get('last')
            if problem and self.last and describe(self.last) not in problem:
                last += '; then: %s' % problem
            self.fail('%s did not become ready within %ss (%s): last %s'
                      % (self.name, self.p['timeout'], what, last), timed_out=True)

    def line(self, state):
        return '%s: %s' % (self.name, describe(state))

    def boot_end_check(self, state):
        """A boot in progress (not ours) is over when the mover is ready or panicked."""
        return state['reason_code'] in (READY, PANIC), self.line(state)

    def after_reboot_check(self, state):
        if state['reason_code'] == PANIC:
            self.client.note(self.line(state))
            self.fail('%s panicked again after the reboot: %s' % (self.name, describe(state)))
        return state['reason_code'] == READY, self.line(state)

    # -- results ------------------------------------------------------------------------------
    def result(self, changed, after):
        res = {'changed': changed, 'mover': self.name, 'before': self.before, 'after': after,
               'rebooted': self.rebooted}
        if self.cm.diff_mode:
            res['diff'] = {'before': dict(self.before, mover=self.name), 'after': dict(after, mover=self.name)}
        return res

    def fail(self, msg, cause=None, **extra):
        extra.setdefault('before', self.before)
        extra.setdefault('after', self.last)
        raise CelerraFailure(msg, cause=cause, mover=self.name, rebooted=self.rebooted, **extra)

    # -- the run ------------------------------------------------------------------------------
    def reboot_argv(self):
        return [self.client.command_path('server_cpu'), Arg.mover(self.name), '-reboot', 'now']

    def reboot(self):
        result = self.client.run_argv(self.reboot_argv())
        self.rebooted = True
        if not re.search(r'^\s*%s\s*:\s*reboot in progress\b' % re.escape(self.name), result['stdout'], re.M):
            self.fail('unexpected output from server_cpu (expected "%s : reboot in progress"): %s'
                      % (self.name, result['stdout'].strip() or '(nothing)'))
        self.client.note('%s: reboot started' % self.name)
        return self.wait(self.after_reboot_check, 'reboot of %s' % self.name)

    def run(self):
        try:
            return self._run()
        except CelerraFailure:
            raise
        except CelerraClientError as exc:
            # the Celerra's own error line, with what is known of the mover so far
            self.fail(exc.msg, cause=exc)

    def _run(self):
        known = [m['name'] for m in self.client.nas_server_list()]
        if self.name not in known:
            self.fail('unknown data mover %s (the Control Station has %s)'
                      % (self.name, ', '.join(known) or 'none'))
        self.before = dict(self.read())
        state = self.before
        code = state['reason_code']
        always = self.p['state'] == 'rebooted'
        if code not in (READY, PANIC):
            if self.cm.check_mode:
                self.cm.module.warn('%s is booting, %s; a run outside check mode waits for that boot to end '
                                    'and reboots the mover %s' % (self.name, describe(state),
                                                                  'then' if always else 'only if it panics'))
                self.rebooted = always
                return self.result(always, self.ready_state() if always else state)
            self.client.note('%s is booting, %s: waiting for that boot to end' % (self.name, describe(state)))
            state = self.wait(self.boot_end_check, 'boot of %s in progress' % self.name)
        if state['ready'] and not always:
            return self.result(False, state)
        if self.cm.check_mode:
            self.reboot_argv()
            self.rebooted = True
            return self.result(True, self.ready_state())
        after = self.reboot()
        return self.result(True, after)

    @staticmethod
    def ready_state():
        return {'reason_code': READY, 'reason': parsers.REASONS[READY], 'ready': True}


def run(cm):
    p = cm.params
    try:
        Arg.mover(p['name'])
    except CelerraArgumentError as exc:
        raise CelerraFailure(exc.msg, mover=p['name'], rebooted=False)
    if p['timeout'] <= 0 or p['poll_interval'] <= 0:
        raise CelerraFailure('timeout and poll_interval must be positive', mover=p['name'], rebooted=False)
    return Mover(cm).run()


def main():
    cm = CelerraModule(dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='ready', choices=['ready', 'rebooted']),
        timeout=dict(type='int', default=600),
        poll_interval=dict(type='float', default=5),
    ))
    cm.run(run)


if __name__ == '__main__':
    main()
