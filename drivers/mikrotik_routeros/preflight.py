"""What a RouterOS router must offer before egressctl can cut it, checked read-only (``egressctl check``).

The safety net is a script run by the router's scheduler: a revert still armed means an earlier run stopped
before confirming (the router puts itself back when it fires). egressctl's jumps must sit above the
FastTrack and ``accept established`` rules, or established traffic never meets its chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_drivers.mikrotik_routeros import constants as c
from egressctl_drivers.mikrotik_routeros.parse import jumps_below_fasttrack, pending

from egressctl.check import CheckResult, fail, ok, warn

if TYPE_CHECKING:
    from egressctl_drivers.mikrotik_routeros.driver import MikrotikRouterosDriver

EFFECT = (f"the router's scheduler runs script `{c.REVERT}` after the timer (item `{c.REVERT}`, interval = "
          "the "
          f"revert time) and 3 s after any reboot (item `{c.REVERT_BOOT}`, start-time=startup): the jumps go "
          "back to the chain in force before, or egressctl's rules are removed; no reboot, nothing else "
          "changes")
PLAN_NOTE = ("persists at once: RouterOS saves every change as it is made, so an unconfirmed change would "
             "survive a power cut; the startup scheduler item undoes it after a reboot, the confirm removes "
             "the safety net")


def scheduler_check(export: str) -> CheckResult:
    """No safety net of an earlier run may still be armed."""
    if not pending(export):
        return ok("safety-net-armed", "no revert of egressctl's is scheduled")
    return warn("safety-net-armed", f"scheduler item `{c.REVERT}` is armed: an earlier run stopped before "
                "confirming; the router reverts when it fires, or a re-run settles it")


def placement_check(raw: str) -> CheckResult:
    """Egressctl's jumps (if any) sit above the FastTrack / accept-established rules."""
    low = jumps_below_fasttrack(raw)
    if low:
        return fail("placement", f"{', '.join(low)}: egressctl's jump is below a rule accepting established "
                    "connections (moved by hand?): established traffic skips egressctl's chain")
    return ok("placement", "egressctl's jumps go at the top of the forward chain (place-before=0), above "
              "FastTrack")


def safety_net_check() -> CheckResult:
    """How the dead-man switch works on RouterOS and what it does when it fires."""
    return ok("safety-net", f"on-box script `{c.REVERT}` armed before the change by two scheduler items "
              f"(at least {c.REVERT_MIN_SECONDS} s, and at startup); removed by the confirm", EFFECT)


def preflight(drv: MikrotikRouterosDriver) -> list[CheckResult]:
    """RouterOS prerequisites, read-only."""
    raw = "\n".join(drv.send(cmd, check=False) for cmd in c.READ_BACK)
    armed = drv.send(c.SCHEDULER_READ, check=False)
    return [scheduler_check(armed), placement_check(raw), safety_net_check()]
