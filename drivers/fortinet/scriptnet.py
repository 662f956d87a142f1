"""The session side of FortiOS's non-rebooting dead-man switch (see :mod:`.revert` for the design).

Used by :class:`~egressctl_drivers.fortinet.driver.FortinetDriver`: whether the unit can take it (version,
device option ``revert``), arming the scripts that undo a change just sent, finding them (the unit is the
record: a restarted or second controller sees them), deleting them (confirm) and running them now
(rollback).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet import parse
from egressctl_drivers.fortinet import revert as R

from egressctl.driver import DeviceState, NetDescription, SafetyNet
from egressctl.errors import CommitError
from egressctl.policy import Policy, fingerprint

if TYPE_CHECKING:
    from egressctl_drivers.fortinet.driver import FortinetDriver

SCRIPT_FIRES = ("scheduled auto-scripts on the unit put back the rules it held before the change; "
                "no reboot, traffic keeps flowing")
REBOOT_FIRES = ("cfg-save revert: the unit reboots to its saved configuration (every HA member); traffic "
                "stops while it boots")
OFFLINE = NetDescription(SafetyNet.ONBOX_SCRIPT, f"FortiOS >= 6.2: {SCRIPT_FIRES}; older units or "
                                                 f"option revert: reboot: {REBOOT_FIRES}")


class ScriptNet:
    """One driver session's view of the unit's egressctl revert scripts."""

    def __init__(self, drv: FortinetDriver) -> None:
        self.drv = drv
        self._version: tuple[int, int] | None = None
        self._read_version = False

    def usable(self) -> bool:
        """Scripts hold the revert here: option ``revert: script``, else FortiOS >= 6.2 (read once)."""
        option = str(self.drv.device.options.get(C.REVERT_OPTION, ""))
        if option in ("script", "reboot"):
            return option == "script"
        if not self._read_version:
            self._version = R.version(self.drv.send(C.GET_STATUS, check=False))
            self._read_version = True
        return self._version is not None and self._version >= C.SCRIPT_SINCE

    def describe(self) -> NetDescription:
        """Which net this unit uses and what it does when it fires (without a session: both cases)."""
        if self.drv.is_open:
            return (NetDescription(SafetyNet.ONBOX_SCRIPT, SCRIPT_FIRES) if self.usable()
                    else NetDescription(SafetyNet.REBOOT_REVERT, REBOOT_FIRES))
        return OFFLINE

    def found(self) -> list[R.Armed]:
        """The egressctl scripts on the unit now."""
        return R.armed(self.drv.send(C.SHOW_AUTOSCRIPT, check=False))

    def pending(self, state: DeviceState) -> R.Armed | None:
        """The scripts guarding what the unit holds now (its change waits for a confirm), if any."""
        held = fingerprint(state.rules)
        return next((a for a in self.found() if a.fingerprint == held), None)

    def arm(self, before: DeviceState, policy: Policy, delay: int) -> None:
        """Schedule the undo of the change just sent (read back now) ``delay`` s from now.

        Raises:
            CommitError: the undo does not fit the unit's scripts (the caller keeps cfg-save revert).
        """
        after = parse.device_state(self.drv.raw())
        back = Policy(policy.site, before.target, before.rules)
        lines = self.drv.render(back, after)
        fp = fingerprint(after.rules)
        scripts = R.chunks(lines, fp)
        if any(len("\n".join(s)) > C.SCRIPT_MAX for s in scripts) or len(scripts) > 99:
            raise CommitError(self.drv.device.name, "the undo does not fit FortiOS auto-scripts")
        self.disarm()
        self.drv.send_lines(R.arm_lines(scripts, fp, delay))

    def disarm(self) -> int:
        """Delete every egressctl revert script (the confirm); returns how many there were."""
        names = [name for a in self.found() for name, _ in a.scripts]
        if names:
            self.drv.send_lines([f"config {C.SEC_AUTOSCRIPT}", *(f'delete "{n}"' for n in names), "end"])
        return len(names)

    def fire_now(self, armed: R.Armed) -> None:
        """Run the scripts' lines at once, in order (each ends by deleting itself)."""
        for _, lines in armed.scripts:
            self.drv.send_lines([ln for ln in lines if not re.fullmatch(r"\s*", ln)])
