"""What a PAN-OS firewall must offer before egressctl can cut it, checked read-only (``egressctl check``).

PAN-OS has one candidate configuration shared by every administrator, and ``commit`` commits all of it.
egressctl refuses to act on a firewall whose candidate holds uncommitted changes it did not load (the
whole operation stops with exit 4 unless ``--take-over``, which discards them), so a candidate left dirty
by someone would stop the isolation at 3 a.m. The check reads ``show config diff`` (the candidate against
the running configuration) and changes nothing.

A standalone PAN-OS firewall has no dead-man switch of its own: the driver proves the management path in
the candidate before committing and a watchdog *in the controller* rolls back unless confirmed. The check
says what that means when it matters: a controller that dies (or loses the firewall) after the commit
leaves the change in place until the next run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_drivers.paloalto_panos import constants as C

from egressctl.check import CheckResult, fail, ok

if TYPE_CHECKING:
    from egressctl_drivers.paloalto_panos.driver import PaloAltoPanosDriver

EFFECT = ("no on-box revert: the controller's watchdog loads the snapshot (`load config from "
          f"{C.SNAPSHOT_FILE}`) and commits it; if the controller crashes or loses the firewall after the "
          "commit, the change stays until the next run rolls it back")
DIFF_LINES = 6


def candidate_check(diff: str) -> CheckResult:
    """The shared candidate holds nothing uncommitted (from ``show config diff``)."""
    if not diff.strip():
        return ok("candidate", "the candidate configuration holds no uncommitted changes")
    lines = [ln.strip() for ln in diff.splitlines() if ln.strip()[:1] in "+-" and ln.strip()[:3] not in
             ("+++", "---")]
    shown = "; ".join(lines[:DIFF_LINES]) + (f"; ... {len(lines) - DIFF_LINES} more" if len(lines) >
                                              DIFF_LINES else "")
    return fail("candidate", "the candidate holds uncommitted changes egressctl did not make: a commit would "
                "take them along, so egressctl refuses to act (exit 4; --take-over discards them); commit or "
                "`revert config` them first"
                + (f" ({shown})" if shown else ""))


def safety_net_check() -> CheckResult:
    """How the dead-man switch works on PAN-OS and what it does when it fires."""
    return ok("safety-net", "guarded snapshot: the management path is proved in the candidate before "
                            f"`commit`, the configuration saved as {C.SNAPSHOT_FILE}, and the controller "
                            "rolls back unless confirmed", EFFECT)


def preflight(drv: PaloAltoPanosDriver) -> list[CheckResult]:
    """PAN-OS prerequisites, read-only: a clean shared candidate, and what the safety net depends on."""
    return [candidate_check(drv.diff()), safety_net_check()]
