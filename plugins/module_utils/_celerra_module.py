# -*- coding: utf-8 -*-
# Copyright: mailops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument spec and AnsibleModule builder of the celerra_* modules.

The common options are documented by the doc fragment `mailops.window.celerra`; each module merges
its own argument spec with COMMON_ARGUMENT_SPEC through CelerraModule. Private module of the
collection (leading underscore): its interface may change without notice.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.mailops.window.plugins.module_utils import _celerra_client as client_mod
from ansible_collections.mailops.window.plugins.module_utils._celerra_client import (
    CelerraClient,
    CelerraClientError,
    CelerraCommandError,
)


COMMON_ARGUMENT_SPEC = dict(
    host=dict(type='str', required=True, fallback=(env_fallback, ['CELERRA_HOST'])),
    port=dict(type='int', default=22, fallback=(env_fallback, ['CELERRA_PORT'])),
    username=dict(type='str', default='nasadmin', fallback=(env_fallback, ['CELERRA_USERNAME'])),
    password=dict(type='str', no_log=True, fallback=(env_fallback, ['CELERRA_PASSWORD'])),
    private_key=dict(type='path'),
    known_hosts=dict(type='path', default='~/.ssh/known_hosts'),
    host_key_policy=dict(type='str', default='strict', choices=['strict', 'accept_new']),
    connect_timeout=dict(type='int', default=10),
    connect_retries=dict(type='int', default=4),
    command_timeout=dict(type='int', default=60),
    nas_db=dict(type='str', default='/nas'),
)


def merge_argument_spec(own):
    spec = dict(COMMON_ARGUMENT_SPEC)
    overlap = set(spec) & set(own)
    if overlap:
        raise ValueError('module options clash with the common options: %s' % ', '.join(sorted(overlap)))
    spec.update(own)
    return spec


class CelerraModule(object):
    """An AnsibleModule with the common options, and the client built from them."""

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        self.module = AnsibleModule(argument_spec=merge_argument_spec(argument_spec),
                                    supports_check_mode=supports_check_mode, **kwargs)
        if not client_mod.HAS_PARAMIKO:
            self.module.fail_json(msg=missing_required_lib('paramiko'),
                                  exception=repr(client_mod.PARAMIKO_IMPORT_ERROR))
        self.params = self.module.params
        self._client = None

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff

    def log(self, msg):
        self.module.log(msg)

    @property
    def client(self):
        if self._client is None:
            p = self.params
            for key in ('connect_timeout', 'command_timeout'):
                if p[key] <= 0:
                    self.fail_json('%s must be a positive number of seconds' % key)
            if p['connect_retries'] < 0:
                self.fail_json('connect_retries must not be negative')
            try:
                self._client = CelerraClient(
                    host=p['host'], port=p['port'], username=p['username'], password=p['password'],
                    private_key=p['private_key'], known_hosts=p['known_hosts'],
                    host_key_policy=p['host_key_policy'], connect_timeout=p['connect_timeout'],
                    command_timeout=p['command_timeout'], nas_db=p['nas_db'],
                    connect_retries=p['connect_retries'], log=self.log)
            except CelerraClientError as exc:
                self.fail_json(exc.msg)
        return self._client

    def debug_result(self):
        """`commands` (every command line sent, one SSH round trip each), `connections`, `progress`."""
        if self._client is None:
            return {'commands': [], 'connections': 0}
        result = {'commands': self._client.command_list(), 'connections': self._client.connections}
        added = getattr(self._client.session, 'added_host_key', None)
        if added:
            result['host_key_added'] = added
        return result

    def _add_progress(self, result):
        if self._client is not None and self._client.progress:
            result.setdefault('progress', list(self._client.progress))

    def exit_json(self, **result):
        result.update(self.debug_result())
        self._add_progress(result)
        if self._client is not None:
            self._client.close()
        self.module.exit_json(**result)

    def fail_json(self, msg, **result):
        result.update(self.debug_result())
        self._add_progress(result)
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
        self.module.fail_json(msg=msg, **result)

    def fail_from_error(self, exc, msg=None, **result):
        """Fail with the Celerra's own message, its code/subject and the command's rc/stdout/stderr."""
        if isinstance(exc, CelerraCommandError):
            result.update(rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr, failed_command=exc.command)
            if exc.code is not None:
                result.update(error_code=exc.code, error_subject=exc.subject)
        elif isinstance(exc, CelerraClientError):
            for key in ('rc', 'stdout', 'stderr', 'fingerprint', 'known_hosts', 'reason'):
                if key in exc.details and exc.details[key] is not None:
                    result[key] = exc.details[key]
        else:
            result['exception'] = traceback.format_exc()
        self.fail_json(msg=msg or getattr(exc, 'msg', str(exc)), **result)

    def run(self, logic):
        """Run logic(self) -> result dict; every client error becomes a clean failure."""
        try:
            result = logic(self)
        except CelerraFailure as exc:
            if exc.cause is not None:
                self.fail_from_error(exc.cause, msg=exc.msg, **exc.result)
            self.fail_json(exc.msg, **exc.result)
        except CelerraClientError as exc:
            self.fail_from_error(exc)
        self.exit_json(**result)


class CelerraFailure(Exception):
    """A module decision to fail (not a Celerra error): message plus extra return values."""

    def __init__(self, msg, cause=None, **result):
        super().__init__(msg)
        self.msg = msg
        self.cause = cause
        self.result = result
