# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the window_lock action plugin (the code lives in plugins/action/window_lock.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: window_lock
short_description: Take or release the maintenance window's lock on the controller
version_added: "0.1.0"
description:
  - Stops a second, overlapping run of a maintenance window started from the same controller.
  - C(state=acquired) creates the lock file atomically. The file records the run's identifier, the
    controller host and the process id of the C(ansible-playbook) run that holds it.
  - A lock held by a run whose process no longer exists on this controller (an interrupted run) is
    stale and is taken over, so a re-run resumes the window. A lock held by a live run, or by a run on
    another controller, is refused unless O(break_lock=true).
  - C(state=released) removes the lock only when this run holds it.
  - Runs on the controller only; it never connects to the target host.
  - Always reports C(changed=false). The lock is the run's own bookkeeping, not state of the managed
    systems, so a window that changes nothing reports nothing changed.
options:
  path:
    description: Path of the lock file on the controller.
    type: path
    required: true
  state:
    description: Take or release the lock.
    type: str
    choices: [acquired, released]
    default: acquired
  run_id:
    description: Identifier of this run, recorded in the lock and required to release it.
    type: str
    required: true
  break_lock:
    description: Take the lock even when another live run or another controller holds it.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: The lock is taken and released in check mode too, so a dry run cannot overlap a real one.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Take the window lock
  mailops.window.window_lock:
    path: "{{ window_lock_path }}"
    run_id: "{{ window_run_id }}"
  delegate_to: localhost
  run_once: true

- name: Release it
  mailops.window.window_lock:
    path: "{{ window_lock_path }}"
    run_id: "{{ window_run_id }}"
    state: released
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
lock:
  description: What the lock file holds after the call (empty after a release).
  returned: always
  type: dict
  sample: {run_id: "20260110T050000Z-4242", host: ops1, pid: 4242, started: "2026-01-10T05:00:00+00:00"}
released:
  description: Whether this call removed the lock (state=released).
  returned: when state=released
  type: bool
took_over:
  description: The stale lock that was taken over, if any.
  returned: when a stale lock was taken over
  type: dict
"""
