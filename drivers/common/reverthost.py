"""``RevertHost``: a device's revert job on its revert host, armed, disarmed and read over SSH.

The host is a jump host of the device's site named by the device option ``revert_host``, reached exactly
as the device's ``jump:`` would reach it (:func:`egressctl.ssh.route.jump_route`): the entry's ``host``,
``port``, ``username`` and ``credential`` win, the ssh_config in effect (the device's, else the site's, else
``~/.ssh/config``) fills in ``HostName``, ``Port``, ``User`` and ``IdentityFile``, its own ``ProxyJump``
chain is followed hop by hop, and every hop and the host itself are checked against their pins before any
credential is sent (a site whose bastion lives only in ssh_config, as most do, needs nothing more than
its pin in ``jump_hosts``). A connect that fails for a transient reason is retried once, as a device's.
Each call is one ``exec`` on one client kept for the driver's session, so reading the job's state costs a
round trip, not a login. The job's files and script come from the platform (its
``revertjob.py`` or ``revert.py``); the shell text shared by every platform is :mod:`.revertjob`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from egressctl_drivers.common import revertjob as J

from egressctl.errors import AuthError, ConnectError, DeviceError
from egressctl.inventory.access import JumpHost
from egressctl.inventory.credentials import redact, secret_for_jump
from egressctl.inventory.models import Device
from egressctl.ssh.retry import retry_once
from egressctl.ssh.route import Route, RouteError, jump_route
from egressctl.ssh.tunnel import Tunnel, login_over

OPTION = "revert_host"


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
        self._tunnel: Tunnel | None = None

    @property
    def name(self) -> str:
        """The revert host's inventory name."""
        return self.host.name

    def route(self) -> Route:
        """The path to the revert host, as the device's ``jump:`` would take it (nothing is opened).

        Raises:
            ConnectError: the ssh_config in effect is unreadable, or a hop of the chain is not pinned.
        """
        try:
            dev = self.device
            return jump_route(self.host, dev.ssh_config, dev.site_ssh, f"revert host {self.name}")
        except RouteError as exc:
            raise ConnectError(self.device.name, f"revert host {self.name}: SSH path: {exc}") from None

    def _connect(self) -> None:
        """Log in over the route (hops first, each pinned), retried once after a transient failure."""
        route = self.route()
        try:
            secret = secret_for_jump(self.host)
        except KeyError as exc:
            raise AuthError(self.device.name, f"revert host {self.name}: credential cannot be resolved: "
                            f"{exc.args[0]}") from None
        self._client, self._tunnel = retry_once(
            lambda: login_over(route, self.device.name, secret, self.timeout, secret_for_jump))

    def _run(self, command: str, stdin: str | None = None) -> str:
        if self._client is None:
            self._connect()
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

    def connect(self) -> None:
        """Log in now, if not yet logged in (a check tells a failed login from a failed command by it).

        Raises:
            ConnectError: the path cannot be used or the host cannot be reached (``HostKeyMismatch``,
                ``AuthError`` and ``DeviceTimeout`` as :func:`~egressctl.ssh.tunnel.login_over`).
        """
        if self._client is None:
            self._connect()

    def read(self, command: str) -> str:
        """Run one command that only looks (``egressctl check``'s probe) and return its output."""
        return self._run(command)

    def arm_files(self, files: Iterable[tuple[str, str]]) -> None:
        """Write the job's files in order (``armed`` last), then start it detached."""
        for name, content in files:
            self._run(J.write_command(self.device.name, name), content)
        self._run(J.arm_command(self.device.name))

    def disarm(self) -> str:
        """Stop the job; returns ``was-armed`` when it still waited, else what it did (``fired-ok``...)."""
        return str(self._run(J.disarm_command(self.device.name))).strip()

    def state(self) -> str:
        """``armed <op> <owner>`` while the job waits, ``fired-ok``/``fired-failed`` after, else ""."""
        return self._run(J.state_command(self.device.name)).strip()

    def close(self) -> None:
        """Close the client, then its jump hosts. Never raises."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing must never raise
                client.close()
        tunnel, self._tunnel = self._tunnel, None
        if tunnel is not None:
            tunnel.close()
