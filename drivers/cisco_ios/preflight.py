"""What an IOS router must offer before egressctl can cut it, checked read-only (``egressctl check``).

The revert timer (Configuration Rollback Confirmed Change) writes the running configuration to the
``archive`` path before a change; without a path IOS refuses the timer (``%Turn config archive on``). The
driver then adds its own path (``flash:egressctl-revert``) at its first commit and removes it after the
full restore, which works but is a change to the site's configuration the operator should know of (and
needs a writable ``flash:``): the check warns and says how to configure the site's own.

A confirmed change is saved to the startup-config (``write memory``); the check compares egressctl's objects
in both configurations and warns when a reload would bring back something else.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios import persist as p
from egressctl_drivers.cisco_ios.switchcheck import INTERFACES_CMD, is_switch, shutdown_uplinks, switch_check

from egressctl.check import CheckResult, ok, warn
from egressctl.errors import DeviceError

if TYPE_CHECKING:
    from egressctl_drivers.cisco_ios.driver import CiscoIosDriver

ARCHIVE_CMD = "show running-config | section ^archive"
_PATH_RE = re.compile(r"^\s+path\s+(\S+)", re.M)
EFFECT = ("the router restores the archived running configuration by itself when the timer expires "
          "(no reload); the change egressctl made is gone, the site's other lines are as archived")


def archive_check(section: str) -> CheckResult:
    """The ``archive`` path the revert timer writes to (from ``show running-config | section ^archive``)."""
    found = _PATH_RE.search(section)
    if found is None:
        return warn("archive", "no archive path: the revert timer needs one, so egressctl adds `archive` / "
                    f"`path {c.ARCHIVE_PATH}` before its first commit (flash: must be writable) and removes "
                    "it after the full restore; configure the site's own (`archive` / `path flash:NAME`) to "
                    "keep that out of the change")
    path = found.group(1)
    if path == c.ARCHIVE_PATH:
        return ok("archive", f"archive path {path}: added by egressctl for an earlier change, removed after "
                             "the full restore")
    return ok("archive", f"archive path {path} (the site's) holds the revert timer's copy")


def safety_net_check() -> CheckResult:
    """How the dead-man switch works on IOS and what it does when it fires."""
    return ok("safety-net", f"revert timer (`configure terminal revert timer N`, {c.REVERT_MIN_MINUTES}-"
                            f"{c.REVERT_MAX_MINUTES} min, rounded up); confirmed with `configure confirm` "
                            "by the session that armed it", EFFECT)


def persistence_check(unsaved: bool | None, why: str = "") -> CheckResult:
    """Whether egressctl's objects in the startup-config are those running (what a reload keeps)."""
    if unsaved is None:
        return warn("persistence", f"cannot compare the startup-config with the running-config: {why}")
    if unsaved:
        return warn("persistence", "egressctl's ACLs or bindings in the startup-config differ from those "
                    "running: a reload would bring back the saved ones (the next change or re-run saves; "
                    "`write memory` by hand otherwise)")
    return ok("persistence", "egressctl's objects are saved (startup-config = running-config); confirmed "
                             "changes are saved with `write memory`, unconfirmed ones never")


def preflight(drv: CiscoIosDriver) -> list[CheckResult]:
    """IOS prerequisites, read-only: archive path, revert timer, what a reload keeps, a switch's interfaces.

    The switch role's check is :mod:`.switchcheck`'s.
    """
    archive = archive_check(drv.send(ARCHIVE_CMD))
    try:
        unsaved: bool | None = p.differs(drv.send, shutdown_uplinks(drv.device))
        why = ""
    except DeviceError as exc:
        unsaved, why = None, str(exc)
    role = switch_check(drv.device, drv.send(INTERFACES_CMD)) if is_switch(drv.device) else None
    return [archive, safety_net_check(), persistence_check(unsaved, why), *([role] if role else [])]
