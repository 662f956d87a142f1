"""Checks of the operator's input that run before anything is sent or journaled.

Credential references and the state directory are only *used* deep inside a run (a device session, a
vantage point's SSH login, the journal's first write), where a missing environment variable would surface
as a failed device, an ``error`` verdict or a raw ``KeyError``, with the exit code of a real failure.
Checking them up front turns each into an :class:`~egressctl.errors.InputError` naming every problem at
once, with the usage exit code, while nothing has been touched yet. The same goes for a device's SSH path
(a named ssh_config that is missing, a ProxyJump through a jump host whose key is not pinned): found here,
it stops the whole operation, instead of failing that one device after the others were already cut.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from egressctl.errors import CredentialError, StateDirError
from egressctl.inventory.credentials import references, resolve, vantage_references
from egressctl.inventory.models import Device, Site


def check_references(refs: Iterable[tuple[str, str]], paths: Iterable[str] = ()) -> None:
    """Resolve each ``(who, reference)``; raise one error listing every reference that does not resolve.

    ``paths`` are SSH path problems found by the caller (an unpinned jump host, a missing ssh_config),
    reported in the same error so everything that stops a connection is named at once.

    Raises:
        CredentialError: at least one reference names an unset variable or a missing file, or its command
            fails; or a path problem was given.
    """
    problems: list[str] = []
    for who, ref in dict.fromkeys(refs):
        try:
            resolve(ref)  # enable secrets and passphrases are value references, which resolve() takes too
        except (KeyError, ValueError) as exc:
            problems.append(f"{who}: {exc.args[0] if exc.args else exc}")
    paths = list(paths)
    if problems:
        raise CredentialError("credentials cannot be resolved:\n" + "\n".join([*problems, *paths]))
    if paths:
        raise CredentialError("SSH paths cannot be used:\n" + "\n".join(paths))


def _who(kind: str, name: str, field: str) -> str:
    """``device fw-a`` for its credential, ``device fw-a enable_secret``, ``jump host b`` as it is."""
    if field.startswith("jump host"):
        return field.removesuffix(" credential")
    return f"{kind} {name}" + ("" if field == "credential" else f" {field}")


def _route_problems(routes: Iterable[tuple[str, Callable[[], object]]]) -> list[str]:
    """What stops each ``(who, route)`` from being computed (missing ssh_config, unpinned jump host)."""
    from egressctl.ssh.route import RouteError

    problems: list[str] = []
    for who, route in routes:
        try:
            route()
        except RouteError as exc:
            problems.append(f"{who}: SSH path: {exc}")
    return problems


def check_device_credentials(devices: Iterable[Device]) -> None:
    """Every device's references and SSH path are usable, before a plan reads or an operation changes it.

    The references are its credential, enable secret and key passphrase, and its site's jump hosts'.
    """
    from egressctl.ssh.route import device_route

    devices = list(devices)
    check_references(((_who("device", d.name, f), ref) for d in devices for f, ref in references(d)),
                     _route_problems((f"device {d.name}", partial(device_route, d)) for d in devices))


def check_vantage_credentials(site: Site) -> None:
    """Every SSH vantage point's references resolve and its path is usable (lab namespaces need none)."""
    from egressctl.ssh.route import vantage_route

    vps = [vp for vp in site.vantage_points if vp.ssh_host is not None]
    check_references(((_who("vantage point", vp.name, f), ref) for vp in vps
                      for f, ref in vantage_references(vp)),
                     _route_problems((f"vantage point {vp.name}", partial(vantage_route, vp)) for vp in vps))


def check_state_dir(path: Path) -> Path:
    """Create ``path`` if needed and make sure the journal can live there.

    Raises:
        StateDirError: it cannot be created, is not a directory, or cannot be written.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateDirError(f"state directory {path}: cannot create it: {exc.strerror or exc}") from exc
    if not path.is_dir():
        raise StateDirError(f"state directory {path}: not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise StateDirError(f"state directory {path}: not writable by this user")
    return path
