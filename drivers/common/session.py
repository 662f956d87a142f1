"""``NetmikoDriverBase``: one SSH session to one device through netmiko's own device classes.

What every driver shares lives here: the pinned host key, credentials resolved at connect time, the SSH
path (ssh_config's HostName/Port/IdentityFile/ProxyCommand, jump hosts opened with their own pinned keys:
``egressctl.ssh``), one retry of a connect that failed for a transient reason, the translation of errors
into egressctl's tree, and detection of the vendor's own error text in command output (the patterns are
vendor data, in each driver's ``constants.py``). Vendor behaviour (render, parse, commit model) stays in
the driver subclasses.

netmiko's own ``ssh_config_file`` is not used: it runs ``ssh -W`` for a ProxyJump, which would trust the
user's known_hosts for the jump host instead of the inventory's pin.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.knownhosts import PinnedHostKeys
from netmiko import BaseConnection, ConnectHandler

from egressctl.driver import Capability, SafetyNet
from egressctl.errors import AuthError, CommandRejected, ConnectError
from egressctl.inventory.credentials import Secret, redact, resolve, secret_for_jump
from egressctl.inventory.models import Device
from egressctl.ssh.retry import BACKOFF, retry_once
from egressctl.ssh.route import Route, RouteError, device_route
from egressctl.ssh.tunnel import Tunnel, load_key, open_tunnel

#: The rule features every built-in driver renders (checked in each ``render.py``); a driver adds what its
#: platform can do beyond expressing rules (``SESSION_KILL``, ``NATIVE_REVERT``).
EXPRESSES: frozenset[Capability] = frozenset({
    Capability.IPV4, Capability.IPV6, Capability.TCP, Capability.UDP, Capability.ICMP,
    Capability.PORT_RANGES, Capability.SOURCE_PORTS, Capability.SOURCE_PREFIXES,
})


def whole_minutes(seconds: int, lowest: int, highest: int) -> int:
    """A device timer that counts whole minutes: ``seconds`` rounded up, clamped to ``lowest..highest``.

    Rounding up keeps a device's safety net from firing before the controller's own deadline; the bounds
    are vendor data (each driver's ``constants.py``).
    """
    return min(highest, max(lowest, math.ceil(seconds / 60)))


class _RedactFilter(logging.Filter):
    """Scrub known secrets from netmiko/paramiko debug records (netmiko logs every channel write)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def _install_log_redaction() -> None:
    for name in ("netmiko", "paramiko"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactFilter) for f in logger.filters):
            logger.addFilter(_RedactFilter())


_install_log_redaction()


class NetmikoDriverBase:
    """Session plumbing shared by the netmiko drivers; subclasses add render/parse and the commit model."""

    platform: ClassVar[str]
    netmiko_device_type: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    safety_net: ClassVar[SafetyNet]
    #: Regexes (re.M) matching the vendor's error lines; the matched line becomes ``device_output``.
    error_patterns: ClassVar[tuple[str, ...]] = ()

    #: Seconds before the one retry of a connect that failed for a transient reason.
    connect_backoff: ClassVar[float] = BACKOFF

    def __init__(self, device: Device, *, timeout: float = 30.0) -> None:
        self.device = device
        self.timeout = timeout
        self._conn: BaseConnection | None = None
        self._keys: PinnedHostKeys | None = None
        self._tunnel: Tunnel | None = None

    # ----------------------------------------------------------------- session
    @staticmethod
    def resolve_secret(device: Device) -> Secret:
        """Resolve the device's credential reference (``AuthError`` when it cannot be resolved)."""
        try:
            return resolve(device.credential)
        except KeyError as exc:
            raise AuthError(device.name, f"credential cannot be resolved: {exc.args[0]}") from None

    def _route(self) -> Route:
        try:
            return device_route(self.device)
        except RouteError as exc:
            raise ConnectError(self.device.name, f"SSH path: {exc}") from None

    def _connect_params(self, secret: Secret, known_hosts: str, route: Route, sock: Any) -> dict[str, Any]:
        target, name = route.target, self.device.name
        if secret.key_file:
            pkey = load_key(name, target.label, secret.key_file, secret.passphrase, required=True)
        elif target.identity_file:
            pkey = load_key(name, target.label, target.identity_file, secret.passphrase, required=False)
        else:
            pkey = None
        return {
            "device_type": self.netmiko_device_type,
            "host": target.host,
            "port": target.port,
            "username": target.username,
            "password": secret.password or "",
            "secret": secret.enable_secret,
            "ssh_strict": True,
            "system_host_keys": False,
            "alt_host_keys": True,
            "alt_key_file": known_hosts,
            "allow_agent": secret.use_agent,
            "use_keys": False,
            "pkey": pkey,
            "sock": sock,
            "conn_timeout": self.timeout,
            "auth_timeout": self.timeout,
            "banner_timeout": self.timeout,
            "timeout": self.timeout,
            "session_log": None,
        }

    def _connect(self, secret: Secret, route: Route) -> None:
        """One connect attempt: the jump hosts (if any), then netmiko over their channel."""
        tunnel = open_tunnel(route, self.device.name, self.timeout, secret_for_jump)
        self._keys = PinnedHostKeys(self.device, route.target.host, route.target.port)
        try:
            with map_netmiko_errors(self.device.name, "connect"):
                self._conn = ConnectHandler(**self._connect_params(secret, str(self._keys.path), route,
                                                                   tunnel.sock))
        except BaseException:
            tunnel.close()
            raise
        finally:
            # The pin is only read while the session is set up: never leave the file behind, even when
            # a caller forgets close().
            self._keys.cleanup()
        self._tunnel = tunnel

    def open(self, secret: Secret) -> None:
        """Open the SSH session with the pinned host key, then run the driver's :meth:`prepare`.

        A connect that fails for a transient reason (connection refused or reset, time-out) is retried
        once after :attr:`connect_backoff` seconds; an authentication or host-key failure never is.
        """
        if self._conn is not None:
            return
        try:
            route = self._route()
            retry_once(lambda: self._connect(secret, route), backoff=self.connect_backoff)
            with map_netmiko_errors(self.device.name, "session preparation"):
                self.prepare()
        except BaseException:
            self.close()
            raise

    def prepare(self) -> None:
        """Hook run right after login (e.g. ``enable()``); the default does nothing."""

    def close(self) -> None:
        """Close the session, its jump hosts and the temporary known_hosts file. Never raises."""
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing must never raise: the session is gone either way.
            with contextlib.suppress(Exception):
                conn.disconnect()
        if self._keys is not None:
            self._keys.cleanup()
            self._keys = None
        tunnel, self._tunnel = self._tunnel, None
        if tunnel is not None:
            tunnel.close()

    @property
    def conn(self) -> BaseConnection:
        """The open netmiko connection (``ConnectError`` if :meth:`open` was not called)."""
        if self._conn is None:
            raise ConnectError(self.device.name, "no open session (open() was not called or failed)")
        return self._conn

    # ---------------------------------------------------------------- commands
    def check_output(self, command: str, output: str) -> None:
        """Raise ``CommandRejected`` carrying the device's own words when ``output`` holds a vendor error.

        The words are every error line in the order the device printed them (at most three): FortiOS says
        what was wrong first (``command parse error before 'x'``) and only then ``Command fail. Return code
        -61``, and an operator needs the first as much as the second.
        """
        found: dict[int, str] = {}
        for pattern in self.error_patterns:
            for m in re.finditer(pattern, output, flags=re.M):
                found.setdefault(m.start(), m.group(0))
        if found:
            words = list(dict.fromkeys(found[k] for k in sorted(found)))[:3]
            raise CommandRejected(
                self.device.name, f"line rejected: {redact(command)}", device_output=redact("; ".join(words))
            )

    def send(
        self,
        command: str,
        *,
        expect_string: str | None = None,
        read_timeout: float | None = None,
        check: bool = True,
    ) -> str:
        """Run one operational command and return its (redacted) output."""
        with map_netmiko_errors(self.device.name, f"command {command.split()[0] if command else ''!r}"):
            out = self.conn.send_command(
                command,
                expect_string=expect_string,
                read_timeout=read_timeout or self.timeout,
            )
        text = redact(str(out))
        if check:
            self.check_output(command, text)
        return text

    def send_config(
        self,
        lines: Sequence[str],
        *,
        exit_config_mode: bool = True,
        enter_config_mode: bool = True,
        config_mode_command: str | None = None,
    ) -> str:
        """Send configuration lines, stopping at the first one the device rejects (``CommandRejected``)."""
        if not lines:
            return ""
        pattern = "|".join(f"(?:{p})" for p in self.error_patterns) or None
        kwargs: dict[str, Any] = {}
        if config_mode_command is not None:
            kwargs["config_mode_command"] = config_mode_command
        with map_netmiko_errors(self.device.name, "configuration"):
            out = self.conn.send_config_set(
                list(lines),
                exit_config_mode=exit_config_mode,
                enter_config_mode=enter_config_mode,
                error_pattern=pattern or "",
                read_timeout=self.timeout,
                **kwargs,
            )
        text = redact(str(out))
        self.check_output("configuration", text)
        return text
