"""Open a route's jump hosts with paramiko, each one checked against its pinned key before any login.

paramiko's ``SSHClient.connect`` verifies the server's key right after the key exchange and before it
authenticates, so with only the pin in the client's host keys and ``RejectPolicy``, a jump host showing
another key is dropped before a password or key signature reaches it; and since the device's own session
is only opened over the verified hop's forwarded channel (``direct-tcpip``), nothing is sent toward the
device either. The device's key is then checked the same way by its own session. Failures become
egressctl errors carrying the device's (or vantage point's) name and which hop failed, redacted.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import Any

import paramiko

from egressctl.errors import AuthError, ConnectError, DeviceError, DeviceTimeout, HostKeyMismatch
from egressctl.inventory.access import JumpHost
from egressctl.inventory.credentials import Secret, expand_path, redact
from egressctl.ssh.route import Endpoint, Route


def known_hosts_name(host: str, port: int) -> str:
    """The host field paramiko uses in known_hosts for ``host:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def pin(keys: paramiko.HostKeys, host_key: str, host: str, port: int) -> None:
    """Add the pinned key (or the pins of a ``known_hosts:PATH`` file) to ``keys``.

    Raises:
        OSError: the known_hosts file cannot be read.
    """
    if host_key.startswith("known_hosts:"):
        keys.load(str(expand_path(host_key.removeprefix("known_hosts:"))))
        return
    keytype, b64 = host_key.split()[:2]
    entry = paramiko.hostkeys.HostKeyEntry.from_line(f"{known_hosts_name(host, port)} {keytype} {b64}")
    if entry is None or entry.key is None:
        raise OSError(f"pinned host key of {host} cannot be parsed")
    keys.add(known_hosts_name(host, port), keytype, entry.key)


def load_key(who: str, label: str, path: str, passphrase: str | None, *,
             required: bool) -> paramiko.PKey | None:
    """A private key; an encrypted one needs ``passphrase`` (an optional key without it is skipped).

    Raises:
        AuthError: a required key cannot be read or decrypted (the passphrase never appears).
    """
    try:
        return paramiko.PKey.from_path(str(expand_path(path)), passphrase.encode() if passphrase else None)
    except (paramiko.PasswordRequiredException, TypeError):  # paramiko 5 raises TypeError for "encrypted"
        why = "is encrypted; set key_passphrase"
    except (paramiko.SSHException, ValueError, OSError):
        why = "cannot be read or decrypted (check key_passphrase)"
    if required:
        raise AuthError(who, f"{label}: key {path} {why}")
    return None


def auth_kwargs(who: str, ep: Endpoint, secret: Secret | None) -> dict[str, Any]:
    """The paramiko ``connect`` keywords for ``secret``: a key file, a password, or agent and default keys.

    The ssh_config ``IdentityFile`` is offered first whatever the credential (as ssh does), unless the
    credential is a ``key:`` file of its own; without a credential, or with ``agent``, the agent and the
    default keys in ~/.ssh are tried as well.
    """
    passphrase = secret.passphrase if secret else None
    if secret is not None and secret.key_file:
        pkey = load_key(who, ep.label, secret.key_file, passphrase, required=True)
    else:
        found = ep.identity_file
        pkey = load_key(who, ep.label, found, passphrase, required=False) if found else None
    defaults = secret is None or (secret.use_agent and not secret.password and not secret.key_file)
    return {"pkey": pkey, "password": secret.password if secret else None, "allow_agent": defaults,
            "look_for_keys": defaults}


def translate(who: str, ep: Endpoint, exc: BaseException) -> DeviceError:
    """The egressctl error for a failure while logging in to (or forwarding through) ``ep``."""
    text = redact(" ".join(str(exc).split())[:300])
    where = f"{ep.label} ({ep.host}:{ep.port})"
    if isinstance(exc, paramiko.BadHostKeyException) or "known_hosts" in text:
        return HostKeyMismatch(who, f"{where}: SSH host key is not the pinned one; nothing was sent to it")
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthError(who, f"{where}: authentication refused")
    if isinstance(exc, socket.timeout | TimeoutError):
        return DeviceTimeout(who, f"{where}: no answer in time")
    return ConnectError(who, f"{where}: {type(exc).__name__}: {text}")


def login(who: str, ep: Endpoint, secret: Secret | None, sock: Any, timeout: float) -> paramiko.SSHClient:
    """An authenticated client to ``ep`` over ``sock`` (TCP when None); the key is checked first.

    Without a pin (``ep.host_key`` None: vantage points only) the user's known_hosts must hold the key.

    Raises:
        DeviceError: HostKeyMismatch, AuthError, DeviceTimeout or ConnectError, naming ``who`` and ``ep``.
    """
    client = paramiko.SSHClient()
    try:
        if ep.host_key is None:
            client.load_system_host_keys()
        else:
            pin(client.get_host_keys(), ep.host_key, ep.host, ep.port)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(ep.host, port=ep.port, username=ep.username, sock=sock, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout, **auth_kwargs(who, ep, secret))
    except DeviceError:
        client.close()
        raise
    except (paramiko.SSHException, OSError, EOFError) as exc:
        client.close()
        raise translate(who, ep, exc) from None
    return client


class Tunnel:
    """The open jump-host clients of one session and the channel (or ProxyCommand) it runs over."""

    def __init__(self) -> None:
        self.sock: Any = None
        self._clients: list[paramiko.SSHClient] = []
        self._proxy: paramiko.ProxyCommand | None = None

    def close(self) -> None:
        """Close every hop, last first. Never raises."""
        with contextlib.suppress(Exception):
            if self.sock is not None:
                self.sock.close()
        for client in reversed(self._clients):
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()
        if self._proxy is not None:
            with contextlib.suppress(Exception):
                self._proxy.close()
            self._proxy = None


def _forward(who: str, client: paramiko.SSHClient, hop: Endpoint, dest: Endpoint, timeout: float) -> Any:
    transport = client.get_transport()
    try:
        if transport is None:
            raise paramiko.SSHException("the session closed")
        return transport.open_channel("direct-tcpip", (dest.host, dest.port), ("127.0.0.1", 0),
                                      timeout=timeout)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        where = f"{hop.label} ({hop.host}:{hop.port})"
        text = redact(" ".join(str(exc).split())[:200])
        raise ConnectError(who, f"{where} could not reach {dest.host}:{dest.port}: {text}") from None


def open_tunnel(route: Route, who: str, timeout: float,
                secrets: Callable[[JumpHost], Secret]) -> Tunnel:
    """Open ``route``'s jump hosts in order; ``tunnel.sock`` (None: plain TCP) then reaches the target.

    Raises:
        DeviceError: a hop's key is not its pin, its login is refused, or it cannot reach the next host.
    """
    tunnel = Tunnel()
    try:
        if route.proxy_command:
            first = route.hops[0] if route.hops else route.target
            try:
                tunnel._proxy = paramiko.ProxyCommand(route.proxy_command)
            except (OSError, ValueError) as exc:
                raise translate(who, first, exc) from None
        sock: Any = tunnel._proxy
        for i, hop in enumerate(route.hops):
            dest = route.hops[i + 1] if i + 1 < len(route.hops) else route.target
            assert hop.jump is not None
            try:
                secret = secrets(hop.jump)
            except KeyError as exc:
                raise AuthError(who, f"{hop.label}: credential cannot be resolved: {exc.args[0]}") from None
            client = login(who, hop, secret, sock, timeout)
            tunnel._clients.append(client)
            sock = _forward(who, client, hop, dest, timeout)
        tunnel.sock = sock
    except BaseException:
        tunnel.close()
        raise
    return tunnel


def login_over(route: Route, who: str, secret: Secret | None, timeout: float,
               secrets: Callable[[JumpHost], Secret]) -> tuple[paramiko.SSHClient, Tunnel]:
    """A client logged in to ``route.target`` over the route's hops, and the tunnel under it (close both).

    One attempt, for an exec session to the target itself (a revert host): the hops as :func:`open_tunnel`
    opens them, then :func:`login` with the target's pin; a failed login closes the hops.

    Raises:
        DeviceError: as :func:`open_tunnel` and :func:`login`, naming ``who`` and the failing endpoint.
    """
    tunnel = open_tunnel(route, who, timeout, secrets)
    try:
        return login(who, route.target, secret, tunnel.sock, timeout), tunnel
    except BaseException:
        tunnel.close()
        raise
