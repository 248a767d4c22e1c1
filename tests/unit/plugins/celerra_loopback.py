# A real SSH endpoint on 127.0.0.1 (a random port, in the test process) whose exec requests are
# answered by the fake Control Station: the client and the modules run over real paramiko SSH.
from __future__ import annotations

import socket
import threading

import paramiko

from celerra_fake import FakeControlStation
from ssh_keys import new_ed25519


class _Server(paramiko.ServerInterface):
    def __init__(self, lab):
        self.lab = lab

    def get_allowed_auths(self, username):
        return 'password'

    def check_auth_password(self, username, password):
        if username == 'nasadmin' and password == self.lab.password:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == 'session':
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        threading.Thread(target=self.lab.answer, args=(channel, command.decode()), daemon=True).start()
        return True


class LoopbackControlStation(object):
    """A real SSH endpoint on 127.0.0.1 whose commands are executed by FakeControlStation."""

    def __init__(self):
        self.host_key = new_ed25519()[0]
        self.password = 'loopback-secret'
        self.station = FakeControlStation()
        self.connections = 0
        self.execs = []
        self.transports = []
        self.stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, dummy_address = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            self.transports.append(transport)
            try:
                transport.start_server(server=_Server(self))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def answer(self, channel, command):
        self.execs.append(command)
        if command == 'hang':
            self.stop.wait(10)
            channel.close()
            return
        if command == 'stderr':
            channel.sendall_stderr(b'something on stderr\n')
            channel.sendall(b'out\n')
            channel.send_exit_status(3)
            channel.shutdown_write()
            return
        result = self.station.execute(command)
        if result == 'hang':
            self.stop.wait(10)
            channel.close()
            return
        if result.stdout:
            channel.sendall(result.stdout.encode())
        if result.stderr:
            channel.sendall_stderr(result.stderr.encode())
        channel.send_exit_status(result.rc)
        # EOF, not close: a close could overtake the reply to the exec request (sshd replies to it
        # before the command runs); the client closes the channel when it has the exit status.
        channel.shutdown_write()

    def close(self):
        self.stop.set()
        self.sock.close()
        for t in self.transports:
            t.close()
        self.thread.join(2)
