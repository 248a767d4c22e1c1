# Fresh ed25519 keys for the tests, as real paramiko key objects (paramiko cannot generate ed25519
# itself, so the key is made with cryptography and loaded from its OpenSSH form).
from __future__ import annotations

import io

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def new_ed25519():
    """-> (paramiko.Ed25519Key with its private half, the OpenSSH private key text)."""
    private = Ed25519PrivateKey.generate()
    text = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption()).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(text)), text


def public_line(name, key):
    return '%s %s %s\n' % (name, key.get_name(), key.get_base64())
