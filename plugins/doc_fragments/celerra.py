# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The connection options of every celerra_* module (mailops.window.celerra).
    DOCUMENTATION = r'''
options:
  host:
    description:
      - Name or address of the Celerra Control Station to reach over SSH.
      - If not set, the value of the E(CELERRA_HOST) environment variable is used.
    type: str
    required: true
  port:
    description:
      - SSH port of the Control Station.
      - For a port other than 22 the O(known_hosts) entry is looked up as C([host]:port).
      - If not set, the value of the E(CELERRA_PORT) environment variable is used.
    type: int
    default: 22
  username:
    description:
      - User to log in as. The Celerra CLI is run as V(nasadmin).
      - If not set, the value of the E(CELERRA_USERNAME) environment variable is used.
    type: str
    default: nasadmin
  password:
    description:
      - Password of O(username). Either this or O(private_key) is needed.
      - If not set, the value of the E(CELERRA_PASSWORD) environment variable is used.
    type: str
  private_key:
    description:
      - Path on the controller of the private key to log in with.
    type: path
  known_hosts:
    description:
      - The known_hosts file (on the controller) that holds the Control Station's host key.
    type: path
    default: ~/.ssh/known_hosts
  host_key_policy:
    description:
      - V(strict) rejects a host that is not in O(known_hosts), and a host whose key changed. The
        message names the file and the SHA256 fingerprint of the key the host offered.
      - V(accept_new) adds the key of a host that is not in O(known_hosts) to that file (trust on
        first use), and still rejects a host whose key changed.
    type: str
    choices: [strict, accept_new]
    default: strict
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection, the SSH banner and the authentication.
    type: int
    default: 10
  connect_retries:
    description:
      - How many times a transient connection failure (refused, reset, timed out, closed before the
        banner) is retried, with exponential backoff from 1 s doubling up to 8 s.
      - Authentication failures and host key rejections are never retried.
    type: int
    default: 4
  command_timeout:
    description:
      - Seconds one CLI command may run before the module gives up on it.
    type: int
    default: 60
  nas_db:
    description:
      - The Control Station's C(NAS_DB) directory. Every command runs as
        C(env NAS_DB=<nas_db> <nas_db>/bin/<command>) (or C(<nas_db>/sbin/<command>)).
    type: str
    default: /nas
requirements:
  - paramiko >= 3.4 on the controller
notes:
  - The Control Station cannot run Ansible modules; these modules run on the controller (set
    C(delegate_to) to V(localhost), or run a play on C(localhost)) and drive the Control Station CLI over SSH.
  - One SSH connection is made per module run and reused for all its commands. The module returns
    every command line it sent in RV(commands) and the number of connections in
    RV(connections).
  - Every argument is validated before anything is sent and quoted for the remote shell.
  - The options can be set once for a play with C(module_defaults) and the action group
    C(group/mailops.window.celerra).
  - The commands, formats and error codes the modules rely on are described in the collection's
    C(docs/celerra-cli.md).
'''

    # Generic descriptions of the attributes; each module sets its own `support`.
    ATTRIBUTES = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation
        indicates no change.
'''

    ACTIONGROUP_CELERRA = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/mailops.window.celerra) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mailops.window.celerra
'''

    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
'''
