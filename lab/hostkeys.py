"""Deterministic SSH host keys for the lab's emulated devices.

The lab inventory pins each device's host key like a real inventory would. Deriving the key from the
device name (and a fixed, public, lab-only label) keeps those pins stable across ``lab up`` runs without
committing private key files. These keys protect nothing: they exist only inside the lab's namespaces.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_LABEL = b"egressctl-lab-hostkey-v1:"


def private_key(device: str) -> Ed25519PrivateKey:
    """The lab host key of ``device`` (lab use only)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(_LABEL + device.encode()).digest())


def public_line(device: str) -> str:
    """``ssh-ed25519 AAAA...`` for ``device``, as pinned in ``inventory/lab.yaml``."""
    raw = private_key(device).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return raw.decode()


def write_private(device: str, path: Path) -> Path:
    """Write the OpenSSH private key of ``device`` to ``path`` (mode 0600) and return the path."""
    pem = private_key(device).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return path
