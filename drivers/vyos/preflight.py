"""What a VyOS router must offer before egressctl can cut it, checked read-only (``egressctl check``).

The dead-man switch is ``commit-confirm``; what it does on expiry is the router's ``system
config-management commit-confirm action``: ``reload`` (VyOS 1.5+) goes back in place, anything else
**reboots** the router to its saved configuration. A commit-confirm already pending makes VyOS refuse
another ("Another confirm is pending"), so the check says so.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_drivers.vyos import constants as c

from egressctl.check import CheckResult, ok, warn

if TYPE_CHECKING:
    from egressctl_drivers.vyos.driver import VyosDriver

RELOAD_FIRES = ("the router reloads the configuration it had before the commit, in place (commit-confirm "
                "action reload): no reboot, the rest of the configuration untouched")
REBOOT_FIRES = ("the router REBOOTS to its saved configuration (/config/config.boot; commit-confirm action "
                "reboot, the only one before VyOS 1.5): the whole router is down while it boots, every "
                "session through it is dropped, and commits confirmed but never saved are lost too")
UNKNOWN_FIRES = (f"reload in place when the router has commit-confirm action reload (VyOS 1.5+; egressctl "
                 f"sets it), otherwise {REBOOT_FIRES.removeprefix('the router ')}")


def safety_net_check(action: str, knows_reload: bool = False) -> CheckResult:
    """How the dead-man switch fires on this router (``knows_reload``: a version with the reload action)."""
    if action == c.RELOAD:
        return ok("safety-net", "commit-confirm N with action reload; confirmed with `confirm`",
                  RELOAD_FIRES)
    if knows_reload:
        return ok("safety-net", f"commit-confirm action is {action!r}; egressctl sets `commit-confirm "
                  "action reload` (this version has it) in a commit of its own before its first change",
                  RELOAD_FIRES)
    return warn("safety-net", f"commit-confirm action is {action!r}: an unconfirmed change is reverted by a "
                "reboot; egressctl sets `commit-confirm action reload` before its first change when the "
                "router accepts it (VyOS 1.5+)", REBOOT_FIRES)


def pending_check(listing: str) -> CheckResult:
    """No commit-confirm may be waiting (VyOS refuses a second one)."""
    if re.search(c.PENDING_RE, listing):
        return warn("commit-confirm", "a commit-confirm waits for `confirm` (an earlier run stopped before "
                    "confirming?): the router reverts it when its timer fires; another is refused until then")
    return ok("commit-confirm", "no commit-confirm pending")


def preflight(drv: VyosDriver) -> list[CheckResult]:
    """VyOS prerequisites, read-only: the commit-confirm action and no confirm pending."""
    from egressctl_drivers.vyos.revert import knows_reload

    action = drv.read_action()
    new = action != c.RELOAD and knows_reload(drv.read_version())
    return [safety_net_check(action, new), pending_check(drv.op(c.PENDING_CMD, check=False))]
