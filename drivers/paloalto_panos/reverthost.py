"""The PAN-OS revert job's host: arm, disarm and read the job over SSH (the script is :mod:`.revertjob`).

The host is a jump host of the device's site named by the device option ``revert_host``, reached directly
(its ``host``, ``port``, ``username``, ``credential`` and pinned ``host_key``: the same pin checks as any
egressctl login). Each call is one ``exec`` on one client kept for the driver's session, so reading the
job's state costs a round trip, not a login.
"""

from __future__ import annotations

import contextlib
import getpass
from typing import Any

from egressctl_drivers.paloalto_panos import revertjob as J

from egressctl.errors import ConnectError, DeviceError
from egressctl.inventory.access import JumpHost
from egressctl.inventory.credentials import Secret, redact, secret_for_jump
from egressctl.inventory.models import Device
from egressctl.ssh.route import Endpoint
from egressctl.ssh.tunnel import login

OPTION = "revert_host"
PORT_OPTION = "revert_port"


def revert_host(device: Device) -> JumpHost | None:
    """The jump host the device's option ``revert_host`` names (None without the option).

    Raises:
        ConnectError: the option names no jump host of the device's site.
    """
    name = device.options.get(OPTION)
    if name is None:
        return None
    found = next((j for j in device.site_ssh.jump_hosts if j.name == str(name)), None)
    if found is None:
        raise ConnectError(device.name, f"revert_host {name!r} is not a jump host of the site")
    return found


class RevertHost:
    """One device's revert job on its revert host."""

    def __init__(self, device: Device, host: JumpHost, timeout: float) -> None:
        self.device, self.host, self.timeout = device, host, timeout
        self._client: Any = None

    @property
    def name(self) -> str:
        """The revert host's inventory name."""
        return self.host.name

    def _run(self, command: str, stdin: str | None = None) -> str:
        if self._client is None:
            h = self.host
            ep = Endpoint(h.name, h.host or h.name, h.port or 22, h.username or getpass.getuser(), h.host_key)
            self._client = login(self.device.name, ep, secret_for_jump(h), None, self.timeout)
        try:
            chan_in, chan_out, chan_err = self._client.exec_command(command, timeout=self.timeout)
            if stdin is not None:
                chan_in.write(stdin)
            chan_in.channel.shutdown_write()
            out: str = chan_out.read().decode(errors="replace")
            status = chan_out.channel.recv_exit_status()
        except (OSError, EOFError) as exc:
            self.close()
            raise ConnectError(self.device.name, f"revert host {self.name}: {redact(str(exc))}") from exc
        if status != 0:
            err = redact(chan_err.read().decode(errors="replace").strip())
            raise DeviceError(self.device.name, f"revert host {self.name}: exit {status}", err[-300:])
        return out

    def arm(self, delay: int, secret: Secret, stamp: str) -> None:
        """Write the job's files and start it: it will revert in ``delay`` s unless disarmed."""
        port = int(self.device.options.get(PORT_OPTION, 22))
        addr = str(self.device.mgmt_address)
        where = addr if port == 22 else f"[{addr}]:{port}"
        keytype, key = self.device.host_key.split()[:2]
        d = self.device.name
        self._run(J.write_command(d, "secret"), secret.password or "")
        self._run(J.write_command(d, "askpass"), J.ASKPASS)
        self._run(J.write_command(d, "known_hosts"), f"{where} {keytype} {key}\n")
        self._run(J.write_command(d, "job.sh"), J.job_script(d, delay, addr, port, self.device.username))
        self._run(J.write_command(d, "armed"), stamp + "\n")
        self._run(J.arm_command(d))

    def disarm(self) -> str:
        """Stop the job; returns ``was-armed`` when it still waited, else what it did (``fired-ok``...)."""
        return str(self._run(J.disarm_command(self.device.name))).strip()

    def state(self) -> str:
        """``armed <op> <owner>`` while the job waits, ``fired-ok``/``fired-failed`` after, else ""."""
        return self._run(J.state_command(self.device.name)).strip()

    def close(self) -> None:
        """Close the client. Never raises."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing must never raise
                client.close()
