# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: window_objective
short_description: Record the outcome of an objective of the maintenance window
description:
  - Records how an objective of the maintenance window ended, with a detail string, and where the
    backups taken for it are. It runs on the controller only and never changes anything on a host.
  - The event is returned as RV(window_event); the callback C(mailops.window.window_report) lists
    every objective in the window report. An objective without any event is reported as
    C(not_done).
  - When the same objective is recorded more than once, the last record wins.
  - The objective's status also goes out as a custom stat (C(window_objectives)), which ansible-runner and
    AWX keep as the job's artifacts.
version_added: 0.1.0
options:
  objective:
    description:
      - The objective, by its id in the plan declared with C(mailops.window.window_plan) (the
        C(window_plan) variable); any other fails the task, naming the plan's objectives.
    type: str
    required: true
  status:
    description:
      - How the objective ended.
    type: str
    required: true
    choices: [met, rolled_back, not_done, failed]
  detail:
    description:
      - A short free text shown in the report (versions reached, why it was rolled back).
      - Do not put secrets here; it is written to the report as is.
    type: str
    default: ''
  backups:
    description:
      - Backups taken for this objective, so the report says where they are.
      - A later record of the same O(backups[].host) and O(backups[].path) replaces the earlier one.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The host that holds the backup.
        type: str
        required: true
      path:
        description: Absolute path of the backup on that host.
        type: str
        required: true
      sha256:
        description: SHA-256 of the backup file, 64 hexadecimal digits.
        type: str
        required: true
      version:
        description: The version of the software the backup holds, shown in the report.
        type: str
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
  - module: mailops.window.window_phase
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Record that CPMS was patched, with the configuration backups
  mailops.window.window_objective:
    objective: cpms_patched
    status: met
    detail: all four CPMS hosts report 6.7.19.1
    backups:
      - host: mta1
        path: /var/backups/mailops/cpms-mta1.tar.gz
        sha256: "{{ mta1_backup.checksum }}"
        version: 6.7.19
  run_once: true

- name: Record that the Control Station upgrade was rolled back
  mailops.window.window_objective:
    objective: celerra_upgraded
    status: rolled_back
    detail: upgrade failed, Control Station back on 4.2.16-5
  run_once: true
"""

RETURN = r"""
ansible_stats:
  description:
    - Custom stats, as C(ansible.builtin.set_stats) gives them, aggregated over the run - the objective and its
      status under C(window_objectives). Under ansible-runner and AWX they are the job's artifacts.
  returned: success
  type: dict
  sample: {data: {window_objectives: {cpms_patched: met}}, per_host: false, aggregate: true}
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
      description: Always V(objective).
      type: str
      sample: objective
    objective:
      description: The objective.
      type: str
      sample: cpms_patched
    status:
      description: The status given.
      type: str
      sample: met
    at:
      description: When the event was recorded, in seconds since the epoch (controller clock).
      type: float
      sample: 1735787045.123
    detail:
      description: The detail given.
      type: str
      sample: all four CPMS hosts report 6.7.19.1
    backups:
      description: The backups given, with O(backups[].sha256) in lower case and O(backups[].version) null when not given.
      type: list
      elements: dict
      sample: [{host: mta1, path: /var/backups/mailops/cpms-mta1.tar.gz, sha256: 0a1b..., version: 6.7.19}]
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
  sample: "window objective cpms_patched: met"
"""
