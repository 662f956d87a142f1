"""What a Junos SRX must offer before egressctl can cut it, checked read-only (``egressctl check``).

Junos has one shared candidate configuration: ``commit confirmed`` commits *everything* in it, so a
candidate holding someone else's uncommitted changes makes the driver refuse to load (and a commit would
take those changes along). The check enters configuration mode the way an operator does (plain
``configure``, which changes nothing), reads what Junos says about the candidate and ``show | compare``,
and leaves without committing or discarding anything. Leftovers that are all egressctl's own (a controller
killed between load and commit) are only a warning: the next run discards them by itself.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.juniper_junos import constants as c
from egressctl_drivers.juniper_junos.parse import only_owned_changes

from egressctl.check import CheckResult, fail, ok, warn

if TYPE_CHECKING:
    from egressctl_drivers.juniper_junos.driver import JuniperJunosDriver

#: Junos names the other users in configuration mode when one enters it.
_EDITORS_RE = re.compile(r"Users currently editing the configuration:\s*\n((?:\s+\S.*\n?)+)", re.M)
EFFECT = ("Junos rolls back to the configuration before the change by itself when the confirm timer expires "
          "(rollback 1 + commit, no reboot)")
COMPARE_LINES = 6


def candidate_check(entered: str, compare: str, ours: bool) -> CheckResult:
    """The shared candidate: clean, egressctl's own leftovers (warn), or someone else's changes (fail)."""
    if c.DIRTY_CANDIDATE not in entered.lower() and not compare.strip():
        return ok("candidate", "the candidate configuration holds no uncommitted changes")
    if ours:
        return warn("candidate", "the candidate holds egressctl's own uncommitted changes (left by an "
                    "interrupted run); the next operation discards them")
    shown = "; ".join(ln.strip() for ln in compare.splitlines() if ln.strip()[:1] in "+-")[:300]
    return fail("candidate", "the candidate holds someone else's uncommitted changes: a commit would take "
                "them along, so egressctl refuses to load; commit or `rollback 0` them first"
                + (f" ({shown})" if shown else ""))


def editors_check(entered: str) -> CheckResult:
    """Other users in configuration mode may change the candidate under egressctl."""
    found = _EDITORS_RE.search(entered)
    if found is None:
        return ok("editors", "nobody else is in configuration mode")
    who = "; ".join(" ".join(ln.split()) for ln in found.group(1).splitlines() if ln.strip())
    return warn("editors", f"other users are in configuration mode ({who}): their uncommitted changes would "
                "block or join egressctl's commit")


def safety_net_check() -> CheckResult:
    """How the dead-man switch works on Junos and what it does when it fires."""
    return ok("safety-net", "`commit confirmed N` (whole minutes, rounded up); confirmed by a plain `commit`",
              EFFECT)


def _look(drv: JuniperJunosDriver) -> tuple[str, str, bool]:
    """(what Junos said on ``configure``, ``show | compare``, whether the changes are all egressctl's)."""
    with map_netmiko_errors(drv.device.name, "configure"):
        entered = str(drv.conn.config_mode())
    try:
        compare = drv.send("show | compare", check=False)
        ours = False
        if c.DIRTY_CANDIDATE in entered.lower() or compare.strip():
            wait = max(drv.timeout, 60)
            candidate = drv.send(f"show {c.DISPLAY_SET}", read_timeout=wait, check=False)
            active = drv.send(f"run show configuration {c.DISPLAY_SET}", read_timeout=wait, check=False)
            ours = only_owned_changes(drv.device, active, candidate)
    finally:
        with map_netmiko_errors(drv.device.name, "exit configuration-mode"):
            drv.conn.exit_config_mode()  # leaves the candidate as it was (netmiko answers "yes" to exit)
    return entered, compare, ours


def preflight(drv: JuniperJunosDriver) -> list[CheckResult]:
    """Junos prerequisites, read-only: a clean shared candidate, nobody else editing, the confirm timer."""
    entered, compare, ours = _look(drv)
    return [candidate_check(entered, compare, ours), editors_check(entered), safety_net_check()]
