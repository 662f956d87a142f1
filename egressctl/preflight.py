"""Checks of the operator's input that run before anything is sent or journaled.

Credential references and the state directory are only *used* deep inside a run (a device session, a
vantage point's SSH login, the journal's first write), where a missing environment variable would surface
as a failed device, an ``error`` verdict or a raw ``KeyError``, with the exit code of a real failure.
Checking them up front turns each into an :class:`~egressctl.errors.InputError` naming every problem at
once, with the usage exit code, while nothing has been touched yet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from egressctl.errors import CredentialError, StateDirError
from egressctl.inventory.credentials import resolve
from egressctl.inventory.models import Device, Site


def check_references(refs: Iterable[tuple[str, str]]) -> None:
    """Resolve each ``(who, reference)``; raise one error listing every reference that does not resolve.

    Raises:
        CredentialError: at least one reference names an unset variable or a missing file.
    """
    problems: list[str] = []
    for who, ref in refs:
        try:
            resolve(ref)
        except (KeyError, ValueError) as exc:
            problems.append(f"{who}: {exc.args[0] if exc.args else exc}")
    if problems:
        raise CredentialError("credentials cannot be resolved:\n" + "\n".join(problems))


def check_device_credentials(devices: Iterable[Device]) -> None:
    """Every device's credential resolves (before a plan reads them or an operation changes them)."""
    check_references((f"device {d.name}", d.credential) for d in devices)


def check_vantage_credentials(site: Site) -> None:
    """Every SSH vantage point's credential resolves (lab namespaces need none)."""
    check_references((f"vantage point {vp.name}", vp.credential) for vp in site.vantage_points
                     if vp.credential)


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
