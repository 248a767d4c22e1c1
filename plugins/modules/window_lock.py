#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site lock of a maintenance window, taken on the host that holds it (see module_utils/_site_lock.py).
The action plugin of the same name runs this module there and adds what only the controller knows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: window_lock
short_description: Take or release a maintenance window's site lock
version_added: "0.1.0"
description:
  - Stops two maintenance windows from running against the same site at once, whichever controller,
    jump host or operator starts them.
  - The lock is a file, C(<lock_dir>/lock), on one managed host every controller reaches (the playbooks
    use the active configuration server, C(groups['cpms_config_active'][0]), unless C(window_lock_host)
    names another). Run the task with C(delegate_to) that host and C(run_once).
  - C(state=acquired) writes the whole record (run id, controller, user, process id of the
    C(ansible-playbook) run, playbook, start time in UTC) to a temporary file beside the lock and
    hard-links it to the lock. The link fails when the lock is held, so two runs never both take it and
    the lock is never seen empty or half written. Taking a lock this run already holds changes nothing.
  - A lock held by another run is refused, naming who holds it (user@controller, process id, run id,
    playbook) and since when.
  - A lock left by a run of the same controller whose C(ansible-playbook) process no longer exists (an
    interrupted run) is taken over, so a re-run resumes the window. Only the controller can tell, so the
    action plugin checks it and passes O(stale_run_id). The stale lock is renamed aside and checked to be
    the record meant before the new one is linked. Of several runs taking over the same dead lock, exactly
    one wins and the others fail naming it.
  - A lock held by a run that died on another controller is only broken on request, O(break_lock=true)
    naming its run id in O(break_run_id), so that a run can only break the lock it was told about.
  - A damaged record (empty, not JSON, no run id; left by a crash or an older version) is reported with
    the time it was last written and is only broken with O(break_lock=true).
  - Locks taken over or broken are kept in C(<lock_dir>/broken/).
  - C(state=released) removes the lock only when this run holds it.
  - Always reports C(changed=false). The lock is the run's own bookkeeping, not state of the managed
    systems, so a window that changes nothing reports nothing changed.
options:
  state:
    description: Take or release the lock.
    type: str
    choices: [acquired, released]
    default: acquired
  run_id:
    description: Identifier of this run, recorded in the lock and required to release it.
    type: str
    required: true
  lock_dir:
    description:
      - Directory of the lock on the host the task runs on (its C(delegate_to)). Created with mode C(0700)
        if missing; a directory anybody may write to is refused.
      - Every controller must reach it as the same user (C(root) on the lab and the example site), or
        through C(become).
    type: path
    default: /var/lib/mailops-window
    version_added: "0.2.0"
  break_lock:
    description:
      - Break a lock held by another run, which must be named in O(break_run_id); or a damaged record,
        which has no run id.
      - Use it only once you know the holder is dead, for example a run killed on another controller.
    type: bool
    default: false
  break_run_id:
    description:
      - With O(break_lock=true), the run id of the lock to break, as the refusal names it. The lock is
        broken only while that run still holds it; a lock taken meanwhile by another run is refused.
    type: str
    version_added: "0.2.0"
  playbook:
    description: The playbook recorded in the lock. The action plugin fills in the task's playbook file.
    type: str
    version_added: "0.2.0"
  controller:
    description:
      - The controller's host name recorded in the lock. Filled in by the action plugin on the controller;
        a task does not set it.
    type: str
    version_added: "0.2.0"
  user:
    description:
      - The controller's user recorded in the lock. Filled in by the action plugin; a task does not set it.
    type: str
    version_added: "0.2.0"
  pid:
    description:
      - The process id of the C(ansible-playbook) run recorded in the lock. Filled in by the action plugin;
        a task does not set it.
    type: int
    version_added: "0.2.0"
  stale_run_id:
    description:
      - Run id of a lock the controller found dead (its own, its process gone). It is taken over only while
        that run still holds the lock. Filled in by the action plugin; a task does not set it.
    type: str
    version_added: "0.2.0"
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
    details:
      - Reports whether the lock would be taken or released and takes, breaks and removes nothing. A lock
        held by another run is refused in check mode too, so a dry run names a window in progress.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - The lock directory must support hard links (any local POSIX file system, or NFS).
  - A process id reused by an unrelated process makes a dead run look alive; the lock is then refused and
    must be broken with O(break_lock=true).
author:
  - mailops maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Take the site lock on the active configuration server
  mailops.window.window_lock:
    run_id: "{{ window_run_id }}"
  delegate_to: "{{ groups['cpms_config_active'] | first }}"
  run_once: true

- name: Break the lock of a run that died on another jump host
  mailops.window.window_lock:
    run_id: "{{ window_run_id }}"
    break_lock: true
    break_run_id: 20260110T050000Z-4242
  delegate_to: "{{ groups['cpms_config_active'] | first }}"
  run_once: true

- name: Release it
  mailops.window.window_lock:
    run_id: "{{ window_run_id }}"
    state: released
  delegate_to: "{{ groups['cpms_config_active'] | first }}"
  run_once: true
"""

RETURN = r"""
lock:
  description: What the lock holds after the call (empty after a release, or when a check run finds it free).
  returned: always
  type: dict
  sample:
    run_id: 20260110T050000Z-4242
    controller: jump1
    user: ops
    pid: 4242
    playbook: maintenance.yml
    started: "2026-01-10T05:00:00Z"
    lock_host: mailconf2
    schema: mailops.window.lock/1
    mtime: "2026-01-10T05:00:00Z"
lock_file:
  description: The lock file.
  returned: always
  type: str
  sample: /var/lib/mailops-window/lock
lock_host:
  description: The host the lock lives on.
  returned: always
  type: str
  sample: mailconf2
acquired:
  description: Whether this call took the lock (in check mode, whether it would). False when this run held it already.
  returned: when state=acquired and the lock is not held by another run
  type: bool
released:
  description: Whether this call removed the lock (in check mode, whether it would).
  returned: when state=released
  type: bool
took_over:
  description: The lock that was taken over or broken, if any (in check mode, the one that would be).
  returned: when a lock was taken over or broken
  type: dict
holder:
  description: Who holds the lock when it is refused; C(damaged) gives the reason a record is unusable.
  returned: on failure, when another run holds the lock
  type: dict
"""

import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mailops.window.plugins.module_utils._site_lock import (
    LockError,
    LockHeld,
    acquire,
    describe,
    lock_path,
    make_record,
    public,
    read_lock,
    release,
)

DEFAULT_LOCK_DIR = "/var/lib/mailops-window"


def argument_spec():
    return dict(
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        run_id=dict(type="str", required=True),
        lock_dir=dict(type="path", default=DEFAULT_LOCK_DIR),
        break_lock=dict(type="bool", default=False),
        break_run_id=dict(type="str"),
        playbook=dict(type="str"),
        controller=dict(type="str"),
        user=dict(type="str"),
        pid=dict(type="int"),
        stale_run_id=dict(type="str"),
    )


def expected_holder(params):
    """The holder this call may replace, and why: (holder, reason), or (None, None)."""
    if params["break_lock"]:
        if params["break_run_id"]:
            return {"run_id": params["break_run_id"]}, "broken on request (break_lock)"
        held = read_lock(params["lock_dir"])
        if held is None or held.get("damaged") or held.get("run_id") == params["run_id"]:
            return held, "broken on request (break_lock)"
        raise LockHeld(
            "break_lock=true needs the run id of the lock to break in break_run_id (playbooks: "
            "-e window_lock_break_run_id=%s): the lock %s on %s is held by %s"
            % (held["run_id"], lock_path(params["lock_dir"]), socket.gethostname(), describe(held)), held)
    if params["stale_run_id"]:
        return {"run_id": params["stale_run_id"]}, "its ansible-playbook process no longer runs on its controller"
    return None, None


def take(module, params):
    lock_dir = params["lock_dir"]
    expected, reason = expected_holder(params)
    record = make_record(params["run_id"], params["controller"] or "unknown", params["user"] or "unknown",
                         params["pid"], params["playbook"] or "unknown")
    try:
        outcome = acquire(lock_dir, record, expected=expected, check_mode=module.check_mode)
    except LockHeld as exc:
        if params["break_lock"] and params["break_run_id"] and exc.holder.get("run_id") != params["break_run_id"]:
            raise LockHeld("break_run_id %s does not hold the lock: %s" % (params["break_run_id"], exc), exc.holder)
        raise
    result = {"acquired": outcome["acquired"], "lock": public(outcome["lock"])}
    path = lock_path(lock_dir)
    if outcome["already"]:
        result["msg"] = "this run %s holds the window lock %s already" % (params["run_id"], path)
    elif outcome["took_over"]:
        result["took_over"] = public(outcome["took_over"])
        text = "the window lock %s on %s held by %s; %s" % (
            path, socket.gethostname(), describe(outcome["took_over"]), reason)
        if module.check_mode:
            result["msg"] = "would take over " + text
        else:
            result["msg"] = "took over %s; kept as %s" % (text, outcome["kept_aside"])
            module.warn("took over %s: resuming" % text)
    else:
        result["msg"] = ("the window lock %s is free; a run would take it" % path if module.check_mode
                         else "took the window lock %s for run %s" % (path, params["run_id"]))
    return result


def give_back(module, params):
    released, held = release(params["lock_dir"], params["run_id"], check_mode=module.check_mode)
    path = lock_path(params["lock_dir"])
    if not released:
        return {"released": False, "lock": {}, "msg": "the window lock %s is free; nothing to release" % path}
    verb = "would release" if module.check_mode else "released"
    return {"released": True, "lock": public(held) if module.check_mode else {},
            "msg": "%s the window lock %s of run %s" % (verb, path, params["run_id"])}


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    result = {"changed": False, "lock_file": lock_path(params["lock_dir"]), "lock_host": socket.gethostname()}
    try:
        if params["state"] == "acquired":
            result.update(take(module, params))
        else:
            result.update(give_back(module, params))
    except LockHeld as exc:
        module.fail_json(msg="window_lock: %s" % exc, holder=public(exc.holder), lock={}, **result)
    except (LockError, OSError) as exc:
        module.fail_json(msg="window_lock: %s" % exc, lock={}, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
