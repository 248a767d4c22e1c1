# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: window_plan
short_description: Declare the plan of a maintenance window for this run
description:
  - Validates the window's plan and declares it for the run, once, at its start. Everything that talks
    about the window reads this plan - the progress lines, budget warnings, the dry-run printout and
    the report of the callback C(mailops.window.window_report), the phases that
    C(mailops.window.window_phase) accepts and the objectives that C(mailops.window.window_objective)
    accepts. It runs on the controller only and never changes anything on a host.
  - 'A plan is a mapping, usually the variable C(window_plan) of a plan file loaded with C(vars_files)
    (see C(playbooks/plans/) and C(docs/plans.md)): C(id), C(title), C(window_minutes),
    C(contingency_minutes), C(lanes) (each with an C(id) and a C(team)), C(objectives) (each with an
    C(id) and a C(title)), C(phases) (each with an C(id), a C(title), a C(lane) - one of the lanes or
    C(all) -, C(budget_minutes), C(after) - the phases it waits for -, optionally C(rollback_of) and
    C(before_downtime)), optionally C(downtime) (C(from) and C(to) phases) and C(document) (free texts
    of the work plan). A text is a string or a mapping of language code to string.'
  - The critical path is computed from the dependencies (the longest path of budgets); a rollback adds
    its budget to the phase it rolls back when it runs, which is what the contingency is for.
  - A plan that is not valid fails the task with a message naming the field, before anything runs - an
    unknown phase in C(after), a cycle, a negative budget, a duplicate id, an unknown lane.
  - With O(check_markers), the playbook the task is in (and the task files it includes by a literal
    name) is read, and a phase marked there that the plan does not have fails the task, naming it.
version_added: 0.2.0
options:
  plan:
    description:
      - The plan. Defaults to the variable C(window_plan).
    type: dict
  time_scale:
    description:
      - How fast the window's clock runs compared with real time, for the whole run, so that
        C(simulated_seconds = real_seconds / time_scale).
      - V(1.0) on a real site. The lab's C(lab_time_scale) of V(0.01) makes one plan minute last 0.6 real
        seconds. Must be greater than 0.
    type: float
    default: 1.0
  check_markers:
    description:
      - Check the phases that the playbook marks against the plan.
    type: bool
    default: true
  other_order_phases:
    description:
      - Phases that the playbook marks only in blocks of another order, which this plan does not run (a playbook
        with two orders, each with its plan file, such as the window's offline and online orders). They pass
        the O(check_markers) check; any other phase the plan does not have still fails it.
    type: list
    elements: str
    default: []
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
    details: It only declares the plan, so it does the same in check mode.
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
  - module: mailops.window.window_objective
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A window
  hosts: all
  gather_facts: false
  vars_files:
    - plans/my_window.yml
  tasks:
    - name: Declare the window's plan
      mailops.window.window_plan:
        time_scale: "{{ lab_time_scale | default(1.0) }}"
      run_once: true

    - name: "Phase 1: stop the service"
      vars:
        window_phase: stop_service
      block:
        - name: Stop it
          ansible.builtin.service:
            name: myservice
            state: stopped
"""

RETURN = r"""
ansible_stats:
  description:
    - Custom stats, as C(ansible.builtin.set_stats) gives them - the plan's id under C(window_plan). Under
      ansible-runner and AWX they are the job's artifacts.
  returned: success
  type: dict
  sample: {data: {window_plan: celerra_cpms}, per_host: false, aggregate: true}
window_event:
  description: The declaration, consumed by the C(mailops.window.window_report) callback.
  returned: success
  type: dict
  contains:
    schema:
      description: Version of the event format.
      type: str
      sample: mailops.window/2
    kind:
      description: Always V(plan).
      type: str
      sample: plan
    plan:
      description: The validated plan, with its texts templated.
      type: dict
    time_scale:
      description: The time scale of the run.
      type: float
      sample: 0.01
    at:
      description: When the plan was declared, in seconds since the epoch (controller clock).
      type: float
      sample: 1735787045.123
    host:
      description: The inventory host the task ran for.
      type: str
      sample: localhost
    check_mode:
      description: Whether the task ran in check mode.
      type: bool
      sample: false
plan_lines:
  description: The plan as people read it, one line per phase, then the critical path.
  returned: success
  type: list
  elements: str
critical_path:
  description: The phases on the critical path, in order.
  returned: success
  type: list
  elements: str
  sample: [stop_mail, unmount_shares, upgrade_control_station, upgrade_data_movers]
planned_minutes:
  description: The critical path's length in plan minutes, without rollbacks.
  returned: success
  type: float
  sample: 120.0
msg:
  description: A one-line summary.
  returned: success
  type: str
  sample: "window plan celerra_cpms declared: 12 phases, critical path 120 min"
"""
