# The client over real SSH: a paramiko SSH server on 127.0.0.1 (a random port, in this process)
# answers exec requests with the fake Control Station. This checks what the fake SSHClient of
# test_celerra_client.py only imitates: paramiko's host key lookup as [host]:port, strict and
# accept_new, a changed key, authentication, exit codes, stderr, command timeouts, one connection
# reused for every command of a module run.
from __future__ import annotations

import json
import socket

import pytest

from ansible_collections.mailops.window.plugins.module_utils import _celerra_client as c
from celerra_loopback import LoopbackControlStation
from ssh_keys import new_ed25519, public_line


@pytest.fixture
def lab():
    server = LoopbackControlStation()
    yield server
    server.close()


def session(lab, tmp_path, **kwargs):
    params = dict(host='127.0.0.1', port=lab.port, password=lab.password, known_hosts=str(tmp_path / 'known_hosts'),
                  connect_timeout=5, connect_retries=0)
    params.update(kwargs)
    return c.ParamikoSession(**params)


def trust(lab, tmp_path, key=None):
    (tmp_path / 'known_hosts').write_text(public_line('[127.0.0.1]:%d' % lab.port, key or lab.host_key))


def test_strict_rejects_unknown_host_with_fingerprint(lab, tmp_path):
    s = session(lab, tmp_path)
    with pytest.raises(c.CelerraHostKeyError) as exc:
        s.connect()
    assert lab.host_key.fingerprint in exc.value.msg
    assert str(tmp_path / 'known_hosts') in exc.value.msg
    assert lab.execs == []


def test_accept_new_then_strict(lab, tmp_path):
    s = session(lab, tmp_path, host_key_policy='accept_new')
    assert s.run('env NAS_DB=/nas /nas/bin/nas_version', 5) == (0, '4.2.16-5\n', '')
    s.close()
    assert (tmp_path / 'known_hosts').read_text() == public_line('[127.0.0.1]:%d' % lab.port, lab.host_key)
    s = session(lab, tmp_path)
    assert s.run('env NAS_DB=/nas /nas/bin/nas_version', 5)[0] == 0
    s.close()


def test_changed_key_is_rejected_even_with_accept_new(lab, tmp_path):
    trust(lab, tmp_path, new_ed25519()[0])
    before = (tmp_path / 'known_hosts').read_text()
    with pytest.raises(c.CelerraHostKeyError) as exc:
        session(lab, tmp_path, host_key_policy='accept_new').connect()
    assert 'CHANGED' in exc.value.msg and lab.host_key.fingerprint in exc.value.msg
    assert (tmp_path / 'known_hosts').read_text() == before
    assert lab.execs == []


def test_wrong_password(lab, tmp_path):
    trust(lab, tmp_path)
    with pytest.raises(c.CelerraAuthenticationError):
        session(lab, tmp_path, password='wrong', connect_retries=3).connect()
    assert lab.connections == 1      # not retried


def test_refused_port_is_retried_then_given_up(tmp_path):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()                      # nothing listens there now
    sleeps = []
    s = c.ParamikoSession(host='127.0.0.1', port=port, password='x', known_hosts=str(tmp_path / 'kh'),
                          connect_timeout=2, connect_retries=2, sleep=sleeps.append)
    with pytest.raises(c.CelerraConnectionError) as exc:
        s.connect()
    assert exc.value.transient and sleeps == [1.0, 2.0]


def test_exit_status_stderr_and_timeout(lab, tmp_path):
    trust(lab, tmp_path)
    s = session(lab, tmp_path)
    assert s.run('stderr', 5) == (3, 'out\n', 'something on stderr\n')
    with pytest.raises(c.CelerraTimeoutError):
        s.run('hang', 1)
    # the connection is still good after a timed out command
    assert s.run('env NAS_DB=/nas /nas/bin/nas_version', 5)[0] == 0
    assert s.connections == 1 and lab.connections == 1
    s.close()


def test_module_run_uses_one_connection_for_every_command(lab, tmp_path, monkeypatch, capsys):
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.mailops.window.plugins.modules import celerra_filesystem, celerra_info

    trust(lab, tmp_path)
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: None)
    common = dict(host='127.0.0.1', port=lab.port, password=lab.password, known_hosts=str(tmp_path / 'known_hosts'))

    def run(module, args):
        capsys.readouterr()
        with patch_module_args(dict(common, **args)):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)

    result = run(celerra_info, {})
    assert not result.get('failed'), result
    assert result['connections'] == 1 and lab.connections == 1
    assert len(result["commands"]) == len(lab.execs) == 10
    assert result['control_station']['version'] == '4.2.16-5'
    assert lab.password not in json.dumps(result)

    result = run(celerra_filesystem, {'name': 'fs_store1', 'mover': 'server_3'})
    assert result['changed'] and lab.connections == 2
    assert [a[0] for a in lab.station.changes] == ['/nas/bin/server_export', '/nas/bin/server_umount',
                                                   '/nas/bin/server_mount', '/nas/bin/server_export']
