# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: window_phase
short_description: Mark the start or end of a phase of the maintenance window
description:
  - Records that a phase of the maintenance window started, finished, failed, was skipped or was
    rolled back. It runs on the controller only and never changes anything on a host.
  - The event is returned as RV(window_event); the callback C(mailops.window.window_report) turns
    these events into progress lines, budget warnings and the window report.
  - 'The phases, their budgets in plan minutes and their lanes: C(preflight) 0 (before downtime, all),
    C(backup) 0 (before downtime, mail), C(stop_mail) 10 (mail), C(unmount_shares) 5 (mail),
    C(patch_cpms) 25 (mail, in parallel with C(upgrade_control_station)), C(upgrade_control_station)
    25 (storage), C(rollback_control_station) 30 (storage, contingency only), C(upgrade_data_movers)
    60 (storage), C(redistribute_shares) 5 (storage), C(mount_shares) 5 (mail), C(start_mail) 5
    (mail), C(test_mail) 5 (all).'
  - Mark a phase once per play (for example with C(run_once)); the callback merges the same start
    reported by several hosts.
version_added: 0.1.0
options:
  phase:
    description:
      - The phase, by its canonical name.
    type: str
    required: true
    choices:
      - preflight
      - backup
      - stop_mail
      - unmount_shares
      - patch_cpms
      - upgrade_control_station
      - rollback_control_station
      - upgrade_data_movers
      - redistribute_shares
      - mount_shares
      - start_mail
      - test_mail
  state:
    description:
      - What happened to the phase. V(started) opens it; the other states close it.
      - A phase closed with V(failed) can later be marked V(rolled_back); a plain V(finished) never
        hides an earlier V(failed). To run a phase again, mark it V(started) again.
    type: str
    required: true
    choices: [started, finished, failed, skipped, rolled_back]
  budget_minutes:
    description:
      - Overrides the phase's budget from the plan, in plan (simulated) minutes.
      - Given with V(started), it applies to that run of the phase.
    type: float
  time_scale:
    description:
      - How fast the window's clock runs compared with real time, so that
        C(simulated_seconds = real_seconds / time_scale).
      - V(1.0) on a real site. The lab's C(lab_time_scale) of V(0.01) makes one plan minute last
        0.6 real seconds.
      - Must be greater than 0.
    type: float
    default: 1.0
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
  - module: mailops.window.window_objective
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Mark the data mover upgrade as started
  mailops.window.window_phase:
    phase: upgrade_data_movers
    state: started
    time_scale: "{{ lab_time_scale | default(1.0) }}"
  run_once: true

- name: Mark the data mover upgrade as finished
  mailops.window.window_phase:
    phase: upgrade_data_movers
    state: finished
    time_scale: "{{ lab_time_scale | default(1.0) }}"
    detail: server_2 and server_3 on T5.1.23.2
  run_once: true

- name: Skip the rollback phase when the upgrade went well
  mailops.window.window_phase:
    phase: rollback_control_station
    state: skipped
    detail: Control Station upgrade succeeded
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
      sample: mailops.window/1
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
    time_scale:
      description: The time scale given.
      type: float
      sample: 0.01
    budget_minutes:
      description: The phase's budget in plan minutes (the override if one was given).
      type: float
      sample: 60.0
    budget_overridden:
      description: Whether O(budget_minutes) was given.
      type: bool
      sample: false
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
