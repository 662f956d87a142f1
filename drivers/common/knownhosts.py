"""Pin a device's SSH host key for one session.

netmiko (through paramiko) checks host keys against known_hosts files. egressctl never trusts the user's or
the system's known_hosts for a device: the inventory pins the key, and this module writes exactly that key
to a private temporary file (``[host]:port keytype key``, the form paramiko looks up for non-22 ports), used
with ``ssh_strict=True`` so an unknown or different key is refused. The entry is written for the host and
port the session really connects to (after ssh_config's ``HostName``/``Port``), since that is the name
paramiko looks up, over a jump host's channel too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from egressctl.inventory.credentials import expand_path
from egressctl.inventory.models import Device


def known_hosts_name(host: str, port: int) -> str:
    """The host field paramiko uses in known_hosts for ``host:port``."""
    return host if port == 22 else f"[{host}]:{port}"


class PinnedHostKeys:
    """A private known_hosts file holding only the device's pinned key; remove it with :meth:`cleanup`."""

    def __init__(self, device: Device, host: str | None = None, port: int | None = None) -> None:
        self._dir: Path | None = None
        if device.host_key.startswith("known_hosts:"):
            # The operator keeps the pin in their own file: use it as is (never the system's).
            self.path = expand_path(device.host_key.removeprefix("known_hosts:"))
            return
        self._dir = Path(tempfile.mkdtemp(prefix="egressctl-kh-"))
        os.chmod(self._dir, 0o700)
        self.path = self._dir / "known_hosts"
        keytype, key = device.host_key.split()[:2]
        name = known_hosts_name(host or device.host, port or device.port)
        self.path.write_text(f"{name} {keytype} {key}\n")

    def cleanup(self) -> None:
        """Remove the temporary file (a no-op for an operator-supplied known_hosts file)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
