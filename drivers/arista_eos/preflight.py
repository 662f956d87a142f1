"""What an EOS switch must offer before egressctl can cut it, checked read-only (``egressctl check``).

The dead-man switch is a configuration session committed with ``commit timer``. A session already waiting
for its confirmation blocks every other commit on the switch (and egressctl's own ``egressctl`` session
waiting means an earlier run stopped before confirming), so the check lists the sessions and says so.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_drivers.arista_eos import constants as c
from egressctl_drivers.arista_eos.parse import session_rows

from egressctl.check import CheckResult, fail, ok, warn

if TYPE_CHECKING:
    from egressctl_drivers.arista_eos.driver import AristaEosDriver

EFFECT = ("the switch restores the configuration it had before the commit by itself when the timer expires "
          "(no reboot); the change is gone, the rest of the running configuration is untouched")


def sessions_check(listing: str) -> CheckResult:
    """``show configuration sessions``: no session may be waiting for a commit confirmation."""
    waiting = sorted(n for n, st in session_rows(listing).items() if st == c.PENDING_STATE)
    if not waiting:
        return ok("sessions", "no configuration session waits for a commit confirmation")
    if all(re.fullmatch(c.SESSION_RE, n) for n in waiting):
        return warn("sessions", "egressctl's own session waits for confirmation (an earlier run stopped "
                    "before confirming); the switch rolls it back when its timer fires, or a re-run "
                    "settles it")
    return fail("sessions", f"session(s) {', '.join(waiting)} wait for a commit confirmation: EOS refuses "
                "every other commit until they are confirmed or aborted")


def safety_net_check() -> CheckResult:
    """How the dead-man switch works on EOS and what it does when it fires."""
    return ok("safety-net", f"configuration session `{c.SESSION}-XXXXXX` committed with `commit timer "
              f"hh:mm:ss` (at least {c.TIMER_MIN_SECONDS} s); confirmed with `configure session NAME commit`",
              EFFECT)


def preflight(drv: AristaEosDriver) -> list[CheckResult]:
    """EOS prerequisites, read-only: configuration sessions and the commit timer."""
    return [sessions_check(drv.send(c.SESSIONS_CMD, check=False)), safety_net_check()]
