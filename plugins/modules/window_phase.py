# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: window_phase
short_description: Mark the start or end of a phase of the maintenance window
description:
  - Sets the state of a phase of the maintenance window explicitly, with a detail for the report. It
    runs on the controller only and never changes anything on a host.
  - 'Most phases need no such task. A phase is a block of the playbook marked with the variable
    C(window_phase: <id>); the callback C(mailops.window.window_report) starts it when the first task of
    the block runs and ends it, finished or failed, when the block is left (see its documentation). Use
    this action for what the block cannot say by itself, for example that a phase was V(skipped) and why,
    or that it V(failed) although every task in it succeeded.'
  - The phase must be one of the phases of the plan declared with C(mailops.window.window_plan) (the
    C(window_plan) variable); any other fails the task, naming the phase and the plan's phases.
  - The event is returned as RV(window_event).
version_added: 0.1.0
options:
  phase:
    description:
      - The phase, by its id in the plan.
      - Defaults to the phase of the block the task is in (the C(window_phase) variable).
    type: str
  state:
    description:
      - What happened to the phase. V(started) opens it; the other states close it.
      - A phase closed with V(failed) can later be marked V(rolled_back); a plain V(finished) never
        hides an earlier failure, and no later inference overrides an explicit state.
    type: str
    required: true
    choices: [started, finished, failed, skipped, rolled_back]
  detail:
    description:
      - A short free text shown in the report next to the phase (for example why it was skipped).
      - Do not put secrets here; it is written to the report as is.
    type: str
    default: ''
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: It only records an event, so it does the same in check mode.
  connection:
    support: none
  delegation:
    support: partial
    details: It always runs on the controller, so C(delegate_to) changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: all
    support: full
seealso:
  - module: mailops.window.window_plan
  - module: mailops.window.window_objective
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: "Phase 5: upgrade the data movers"
  vars:
    window_phase: upgrade_data_movers
  block:
    - name: Say why the phase is skipped
      mailops.window.window_phase:
        state: skipped
        detail: the Control Station was rolled back; the movers stay on 4.2
      when: control_station_rolled_back
      run_once: true

- name: Mark another phase as failed, with what failed
  mailops.window.window_phase:
    phase: patch_cpms
    state: failed
    detail: "mta1: the installer died half-way; restored to 6.7.19"
  run_once: true
"""

RETURN = r"""
window_event:
  description: The recorded event, consumed by the C(mailops.window.window_report) callback.
  returned: success
  type: dict
  contains:
    schema:
      description: Version of the event format.
      type: str
      sample: mailops.window/2
    kind:
      description: Always V(phase).
      type: str
      sample: phase
    phase:
      description: The phase.
      type: str
      sample: upgrade_data_movers
    state:
      description: The state given.
      type: str
      sample: started
    at:
      description: When the event was recorded, in seconds since the epoch (controller clock).
      type: float
      sample: 1735787045.123
    detail:
      description: The detail given.
      type: str
      sample: ''
    host:
      description: The inventory host the task ran for.
      type: str
      sample: localhost
    check_mode:
      description: Whether the task ran in check mode.
      type: bool
      sample: false
msg:
  description: A one-line summary of the event.
  returned: success
  type: str
  sample: window phase upgrade_data_movers started
"""
