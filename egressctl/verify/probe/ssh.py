"""Run ``egressctl probe`` on a vantage point that is a site host, over SSH (paramiko exec).

No agent protocol of our own: the remote side is the same ``egressctl probe --json --plan -`` command
that runs in lab namespaces, fed the plan on stdin, and its stdout is the results document. The login
takes the path a device's would (``egressctl.ssh``: ssh_config's HostName/Port/User/IdentityFile/
ProxyCommand, jump hosts checked against their pinned keys, one retry of a transient connect failure).
The host's key is the inventory's pin when it has one, else it must be in the user's ``known_hosts``
(unknown keys are refused, never added). Probes need raw sockets, so a non-root user runs the command
through ``sudo -n`` (configure NOPASSWD for exactly that command on the host). No secret reaches an error
message (``redact``).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from egressctl.errors import DeviceError, VerificationError
from egressctl.inventory.credentials import Secret, redact, secret_for_jump, secret_for_vantage
from egressctl.inventory.models import VantagePoint

PROBE_ARGS = "probe --json --plan -"
REMOTE_COMMAND = "egressctl " + PROBE_ARGS


def remote_command(user: str | None, egressctl: str | None = None) -> str:
    """The command line run on the vantage point (``egressctl``: how egressctl is started there)."""
    command = f"{egressctl or 'egressctl'} {PROBE_ARGS}"
    return command if user in (None, "root") else "sudo -n " + command


def _secret(vp: VantagePoint) -> Secret | None:
    try:
        return secret_for_vantage(vp)
    except KeyError as exc:
        raise VerificationError(f"vantage point {vp.name}: credential cannot be resolved: {exc.args[0]}"
                                ) from None


def _connect(vp: VantagePoint, secret: Secret | None, timeout: float) -> tuple[Any, Any]:
    """A logged-in paramiko client to the vantage point and the tunnel under it (retried once)."""
    from egressctl.ssh.retry import retry_once
    from egressctl.ssh.route import RouteError, vantage_route
    from egressctl.ssh.tunnel import login, open_tunnel

    try:
        route = vantage_route(vp)
    except RouteError as exc:
        raise VerificationError(f"vantage point {vp.name}: SSH path: {exc}") from None

    def attempt() -> tuple[Any, Any]:
        tunnel = open_tunnel(route, vp.name, timeout, secret_for_jump)
        try:
            return login(vp.name, route.target, secret, tunnel.sock, timeout), tunnel
        except BaseException:
            tunnel.close()
            raise

    try:
        return retry_once(attempt)
    except DeviceError as exc:
        raise VerificationError(f"vantage point {vp.name} ({route.describe()}): "
                                f"{redact(str(exc).removeprefix(vp.name + ': '))}") from None


def connect(vp: VantagePoint, timeout: float = 10.0) -> tuple[Any, Any]:
    """A logged-in paramiko ``SSHClient`` to ``vp`` and the tunnel under it; close both when done.

    For callers that run their own command on a vantage point (the held-sessions agent): the same path,
    pins, credentials and retry as the probe's.

    Raises:
        VerificationError: the credentials, the path or the login failed.
    """
    return _connect(vp, _secret(vp), timeout)


def run_over_ssh(vp: VantagePoint, plan: str, budget: float, timeout: float = 10.0) -> dict[str, Any]:
    """Run the plan on ``vp.ssh_host`` and return the parsed results document.

    Raises:
        VerificationError: connection, authentication, host key or remote command failure.
    """
    import paramiko

    from egressctl.ssh.route import RouteError, config_user

    try:
        user = config_user(vp)
    except RouteError as exc:
        raise VerificationError(f"vantage point {vp.name}: SSH path: {exc}") from None
    command = remote_command(user, vp.egressctl_command)
    client, tunnel = _connect(vp, _secret(vp), timeout)
    try:
        stdin, stdout, stderr = client.exec_command(command, timeout=budget)
        stdin.write(plan)
        stdin.channel.shutdown_write()
        out = stdout.read().decode(errors="replace")
        err = stderr.read().decode(errors="replace")
        status = stdout.channel.recv_exit_status()
    except (paramiko.SSHException, OSError) as exc:
        raise VerificationError(f"vantage point {vp.name} ({vp.ssh_host}): {redact(str(exc))}") from None
    finally:
        client.close()
        tunnel.close()
    if status != 0:
        raise VerificationError(f"vantage point {vp.name}: `{shlex.quote(command)}` "
                                f"exited {status}: {redact(err.strip()[-400:])}")
    try:
        doc: dict[str, Any] = json.loads(out)
    except json.JSONDecodeError:
        raise VerificationError(f"vantage point {vp.name}: probe printed no JSON") from None
    return doc
