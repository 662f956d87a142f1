"""What a PAN-OS firewall must offer before egressctl can cut it, checked read-only (``egressctl check``).

PAN-OS has one candidate configuration shared by every administrator, and ``commit`` commits all of it.
egressctl refuses to act on a firewall whose candidate holds uncommitted changes it did not load (the
whole operation stops with exit 4 unless ``--take-over``, which discards them), so a candidate left dirty
by someone would stop the isolation at 3 a.m. The check reads ``show config diff`` (the candidate against
the running configuration) and changes nothing.

A standalone PAN-OS firewall has no dead-man switch of its own: the driver proves the management path in
the candidate before committing, then either arms a revert job on the device's ``revert_host`` (it loads
the snapshot and commits even with the controller gone) or, without one, relies on a watchdog *in the
controller*, which dies with it (the change then stays until the next run). The safety-net line says which
one this device uses; with a revert host, the ``revert-host`` check takes the path arming would take and
proves the job could be armed there (:mod:`egressctl_drivers.common.revertcheck`), arming nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_drivers.common.revertcheck import check_revert_host
from egressctl_drivers.paloalto_panos import constants as C

from egressctl.check import CheckResult, fail, ok

if TYPE_CHECKING:
    from egressctl_drivers.paloalto_panos.driver import PaloAltoPanosDriver

EFFECT = ("no on-box revert: the controller's watchdog loads the snapshot (`load config from "
          f"{C.SNAPSHOT_FILE}`) and commits it; if the controller crashes or loses the firewall after the "
          "commit, the change stays until the next run rolls it back (set revert_host for a job that can)")
JOB_EFFECT = ("a job on {host} logs in to the firewall, loads the snapshot (`load config from "
              f"{C.SNAPSHOT_FILE}`) and commits it, also with the controller gone")
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


def safety_net_check(host: str | None = None) -> CheckResult:
    """Which dead-man switch this firewall uses (the job on ``host``, else the watchdog) and what it does."""
    proved = (f"the management path is proved in the candidate before `commit`, the configuration saved as "
              f"{C.SNAPSHOT_FILE}")
    if host is None:
        return ok("safety-net", f"guarded snapshot: {proved}, and the controller rolls back unless confirmed",
                  EFFECT)
    return ok("safety-net", f"revert job on {host}: {proved}, and the job armed there before the commit "
                            "rolls back unless the confirm disarms it", JOB_EFFECT.format(host=host))


def preflight(drv: PaloAltoPanosDriver) -> list[CheckResult]:
    """PAN-OS prerequisites, read-only: a clean shared candidate, the safety net and its revert host."""
    found = [candidate_check(drv.diff())]
    if drv.remote is None:
        return [*found, safety_net_check()]
    return [*found, safety_net_check(drv.remote.name), check_revert_host(drv.remote)]
