"""What an ASA must offer before egressctl can cut it, checked read-only (``egressctl check``).

The ASA has no dead-man switch: the safety net is the revert job on the device's ``revert_host`` (a job
that undoes the change with the controller gone) or, without one, the controller's own watchdog (which
dies with the controller). Site ACLs bound ``out`` on an outside nameif would be replaced by egressctl's
(one ACL per interface and direction), so the check names them. With a revert host, the ``revert-host``
check takes the path arming would take and proves the job could be armed there
(:mod:`egressctl_drivers.common.revertcheck`), arming nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.cisco_asa.render import foreign_groups
from egressctl_drivers.common.revertcheck import check_revert_host

from egressctl.check import CheckResult, fail, ok, warn

if TYPE_CHECKING:
    from egressctl_drivers.cisco_asa.driver import CiscoAsaDriver

EFFECT = ("a job on {host} logs in to the ASA and types the undo lines computed before the change (the ACL "
          "and groups egressctl had, bound again): no reboot, no connection dropped, nothing saved")
WATCHDOG = ("the controller types the undo lines on a fresh session when the confirm does not come; a "
            "controller that is gone cannot (set revert_host for a job that can)")


def bindings_check(raw: str, drv: CiscoAsaDriver) -> CheckResult:
    """No site ACL may be bound ``out`` where egressctl binds its own."""
    found = foreign_groups(drv.device, raw)
    if not found:
        return ok("access-groups", f"no site ACL bound {c.DIRECTION} on the outside interfaces")
    what = ", ".join(f"{n}: {a}" for n, a in sorted(found.items()))
    return fail("access-groups", f"site ACLs bound {c.DIRECTION} ({what}): egressctl will not replace them")


def safety_net_check(drv: CiscoAsaDriver) -> CheckResult:
    """Which net the driver uses, and what it does when it fires."""
    if drv.remote is None:
        return warn("safety-net", "no revert_host: the revert lives in the controller", WATCHDOG)
    return ok("safety-net", f"revert job on {drv.remote.name}: armed there before the first line, disarmed "
                            "by the confirm", EFFECT.format(host=drv.remote.name))


def preflight(drv: CiscoAsaDriver) -> list[CheckResult]:
    """ASA prerequisites, read-only: bindings egressctl would replace, the safety net and its revert host."""
    found = [bindings_check(drv.send(c.READ_BACK[2], check=False), drv), safety_net_check(drv)]
    return found if drv.remote is None else [*found, check_revert_host(drv.remote)]
