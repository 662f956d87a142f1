"""``MikrotikRouterosDriver``: RouterOS routers through netmiko ``mikrotik_routeros``; safety net on the box.

RouterOS has no candidate, no commit and no save: every console line takes effect at once and is saved at
once (netmiko's class is NoConfig, and its inherited ``save_config`` sends a Cisco command, so it is never
called). Safe Mode, the router's own undo-if-the-session-drops, is an interactive key (Ctrl+X) netmiko cannot
drive, so the dead-man switch is built on the router from what it documents for scripting:

* ``load_candidate`` only renders (nothing is staged), ``diff`` shows the lines ``commit`` will send;
* ``commit`` first arms the safety net, then sends the lines: a script ``egressctl-revert`` holding the undo
  (point the jumps back at the chain in force before, or remove egressctl's rules), run by scheduler item
  ``egressctl-revert`` after ``revert_in`` seconds and by ``egressctl-revert-boot`` 3 s after any reboot
  (start-time=startup): an unconfirmed change is saved too, so a power cut must not keep it;
* ``confirm`` removes the script and both items, then the chain the change replaced; ``rollback`` runs the
  script now. Whether a change waits for its confirmation is read from the router (the scheduler item), so a
  re-run or a second controller sees it.

Session kill: with FastTrack (default configuration) an established connection skips the filter, so the
denied ones are removed from the connection table after the confirm (:mod:`.sessions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.common.state import stamp_text
from egressctl_drivers.mikrotik_routeros import constants as c
from egressctl_drivers.mikrotik_routeros import render as r
from egressctl_drivers.mikrotik_routeros import sessions as S
from egressctl_drivers.mikrotik_routeros.parse import ParseError, owned, parse_state, pending
from egressctl_drivers.mikrotik_routeros.preflight import EFFECT, PLAN_NOTE
from egressctl_drivers.mikrotik_routeros.preflight import preflight as _preflight

from egressctl.driver import (
    Capability,
    DeviceState,
    NetDescription,
    SafetyNet,
    SessionHandling,
    SessionReport,
)
from egressctl.errors import CommandRejected, CommitError, ConfirmError, DeviceError, RollbackError
from egressctl.inventory.models import Network
from egressctl.policy import Policy


class MikrotikRouterosDriver(NetmikoDriverBase):
    """MikroTik RouterOS routers; see the module docstring for the change model."""

    platform: ClassVar[str] = "mikrotik_routeros"
    netmiko_device_type: ClassVar[str] = "mikrotik_routeros"
    #: The scheduler reverts on the router itself, also with the controller gone; connections are removable.
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL,
                                                                 Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.ONBOX_SCRIPT
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    _candidate: list[str] | None = None
    _before: DeviceState | None = None
    _committed: bool = False

    # -------------------------------------------------------------- reads
    def raw(self) -> str:
        """Both families' filter rules, as RouterOS exports them."""
        return "\n".join(self.send(cmd, read_timeout=max(self.timeout, 60)) for cmd in c.READ_BACK)

    def line(self, command: str, error: type[DeviceError] = CommandRejected) -> str:
        """Send one console line; the router's refusal raises ``error`` with its words."""
        out = self.send(command, check=False, read_timeout=max(self.timeout, 60))
        try:
            self.check_output(command, out)
        except CommandRejected as exc:
            if error is CommandRejected:
                raise
            raise error(self.device.name, f"{command.split(' add ')[0]}: refused",
                        device_output=exc.device_output) from exc
        return out

    # -------------------------------------------------------------- contract
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """Console lines taking the router from ``current`` to ``policy`` ([] when already there)."""
        return r.render(self.device, policy, current)

    def read_state(self) -> DeviceState:
        """Parse egressctl's chains and jumps from the filter export."""
        raw = self.raw()
        try:
            return parse_state(self.device, raw, pending=self.has_pending_commit())
        except (ParseError, ValueError) as exc:
            raise DeviceError(self.device.name, f"cannot parse egressctl's rules: {exc}") from exc

    def snapshot(self) -> str:
        """``/export terse``: the whole configuration."""
        return self.send(c.SNAPSHOT, read_timeout=max(self.timeout, 60))

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Render only: RouterOS has no candidate, ``commit`` sends the lines after arming the revert."""
        if current.pending_commit or self.has_pending_commit():
            raise CommitError(self.device.name, f"a revert of egressctl's is armed (scheduler item "
                              f"{c.REVERT}): "
                              "an earlier change waits for its confirmation")
        self._before = current
        self._candidate = self.render(policy, current)

    def diff(self) -> str:
        """The lines ``commit`` will send (RouterOS has no candidate to compare with)."""
        return "\n".join(self._candidate or [])

    def commit(self, revert_in: int) -> None:
        """Arm the on-box revert, then send the lines (each live at once); a refusal reverts at once."""
        if not self._candidate or self._before is None:
            return
        new = r.free_slot(owned(self._before.raw))
        note = " ".join(filter(None, ["egressctl guards", stamp_text()]))
        for command in r.arm_lines(r.undo_lines(self._before, new), revert_in, note):
            self.line(command, CommitError)
        if not self.has_pending_commit():
            raise CommitError(self.device.name, "the revert scheduler item did not stay armed")
        try:  # one write and one prompt read per line (netmiko's send_config_set; no config mode on RouterOS)
            self.send_config(self._candidate, enter_config_mode=False, exit_config_mode=False)
        except DeviceError:
            self.run_revert(RollbackError)
            raise
        self._committed = True

    def run_revert(self, error: type[DeviceError]) -> None:
        """Run the armed revert script now (``/system script run``) and check it disarmed itself."""
        self.line(f"/system script run {c.REVERT}", error)
        if self.has_pending_commit():
            raise error(self.device.name, "the revert script ran but its scheduler item is still armed")

    def confirm(self) -> None:
        """Remove the safety net, then the chain the change replaced; ``ConfirmError`` once it has fired."""
        if not self.has_pending_commit():
            raise ConfirmError(self.device.name, "no change waits for confirmation (the revert fired)")
        for command in r.disarm_lines():
            self.line(command, ConfirmError)
        if self.has_pending_commit():
            raise ConfirmError(self.device.name, "the revert scheduler item is still armed after the confirm")
        have = owned(self.raw())
        if have.active is None:
            return
        for fam in (4, 6):
            for slot in sorted(have.chains.get(fam, set()) - {have.active}):
                self.line(f"{c.MENU[fam]} remove [find where chain={slot}]", ConfirmError)

    def rollback(self) -> None:
        """Run the revert script now while a change is pending; else refuse (or drop an unsent candidate)."""
        if self.has_pending_commit():
            self.run_revert(RollbackError)
            self._committed = False
            return
        if self._committed:
            raise RollbackError(self.device.name, "no pending change to roll back (already confirmed or "
                                "already reverted); apply the previous target instead")
        self.discard()

    def discard(self) -> None:
        """Forget the rendered lines (nothing was staged on the router)."""
        self._candidate = None

    def has_pending_commit(self) -> bool:
        """True while scheduler item ``egressctl-revert`` exists (read from the router, never remembered)."""
        return pending(self.send(c.SCHEDULER_READ, check=False))

    # -------------------------------------------------------------- persistence / plan
    def ensure_saved(self) -> str:
        """Nothing to save: RouterOS writes every change to its configuration as it is made."""
        return ""

    def net_description(self) -> NetDescription:
        """The scheduled revert script and what a reboot does (shown by ``plan`` and ``check``)."""
        return NetDescription(self.safety_net, f"{EFFECT}; {PLAN_NOTE}")

    # -------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Kept with a FastTrack rule (the default configuration), read from the filter."""
        return S.handling(self.raw())

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """Remove the connections from ``inside`` that ``policy`` denies (``connection remove``)."""
        return S.clear(lambda cmd: self.send(cmd, check=False), self.raw(), self.device, policy, inside)
