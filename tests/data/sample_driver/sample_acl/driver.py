"""``SampleAclDriver``: the sample box over SSH, through netmiko's ``generic`` device class.

The box has a per-session candidate (``configure`` copies the running configuration, ``commit confirmed
SECONDS`` applies it and arms the box's own revert timer, ``confirm`` keeps it, ``rollback`` undoes the last
commit), so the dead-man switch is native: it fires on the box even when the controller is gone. Session
plumbing (pinned host key, credentials, error translation) is egressctl's ``NetmikoDriverBase``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.common.session import NetmikoDriverBase

from egressctl.driver import Capability, DeviceState, SafetyNet, SessionHandling, SessionReport
from egressctl.errors import CommandRejected, CommitError, ConfirmError, DeviceError, RollbackError
from egressctl.inventory.models import Network
from egressctl.policy import Policy
from sample_acl import acl


class SampleAclDriver(NetmikoDriverBase):
    """One sample box; see the module docstring for its commit model."""

    platform: ClassVar[str] = "sample_acl"
    netmiko_device_type: ClassVar[str] = "generic"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability) - {Capability.SESSION_KILL}
    safety_net: ClassVar[SafetyNet] = SafetyNet.NATIVE_CONFIRM
    error_patterns: ClassVar[tuple[str, ...]] = (r"^% .*$",)

    _loaded: bool = False
    _prompt: str = r"#\s*$"

    def prepare(self) -> None:
        """netmiko's generic class learns nothing at login: read the prompt so commands know where to stop.

        The prompt changes with the mode (``edge-1#``, ``edge-1(config)#``, ``edge-1(config-acl)#``), so every
        command waits for any of them rather than for the one seen before it.
        """
        self.conn.set_base_prompt()
        self._prompt = re.escape(self.conn.base_prompt) + r"(\([a-z-]+\))?#\s*$"

    def cli(self, command: str) -> str:
        """Run one command in any mode; the box's ``% ...`` error lines raise ``CommandRejected``."""
        return self.send(command, expect_string=self._prompt)

    def configure(self, lines: Sequence[str]) -> None:
        """Enter configuration mode (a fresh candidate) once, then send ``lines``, stopping at a refusal."""
        if not self._loaded:
            self.cli("configure")
            self._loaded = True
        for line in lines:
            self.cli(line)

    # -------------------------------------------------------------------------------------- contract
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """Pure: the lines taking the box from ``current`` to ``policy``."""
        return acl.render(policy, current)

    def read_state(self) -> DeviceState:
        """Parse the owned list out of the running configuration, with the box's commit status."""
        raw = self.snapshot()
        try:
            return acl.parse_state(raw, pending=self.has_pending_commit())
        except ValueError as exc:
            raise DeviceError(self.device.name, f"cannot parse the egressctl list: {exc}") from exc

    def snapshot(self) -> str:
        """The whole running configuration."""
        return self.cli("show running-config")

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Stage the rendered lines in this session's candidate (nothing takes effect)."""
        lines = self.render(policy, current)
        if lines:
            self.configure(lines)

    def diff(self) -> str:
        """The box's own comparison of the candidate with the running configuration."""
        return self.cli("show compare") if self._loaded else ""

    def commit(self, revert_in: int) -> None:
        """Apply the candidate; the box reverts it by itself after ``revert_in`` s unless confirmed."""
        if not self._loaded:
            return
        try:
            self.cli(f"commit confirmed {max(1, int(revert_in))}")
        except CommandRejected as exc:
            raise CommitError(self.device.name, "commit refused", exc.device_output) from exc
        self._loaded = False

    def confirm(self) -> None:
        """Keep the pending commit (``ConfirmError`` when the timer already reverted it)."""
        try:
            self.cli("confirm")
        except CommandRejected as exc:
            raise ConfirmError(self.device.name, "no pending commit to confirm", exc.device_output) from exc

    def rollback(self) -> None:
        """Undo the pending (or last) commit now."""
        self.discard()
        try:
            self.cli("rollback")
        except CommandRejected as exc:
            raise RollbackError(self.device.name, "rollback refused", exc.device_output) from exc

    def discard(self) -> None:
        """Drop this session's candidate."""
        if self._loaded and self._conn is not None:
            self.cli("abort")
        self._loaded = False

    def has_pending_commit(self) -> bool:
        """True while the box's revert timer runs."""
        return "commit status: pending" in self.cli("show commit")

    def session_handling(self) -> SessionHandling:
        """An access list filters every packet: there are no sessions to keep."""
        return SessionHandling.STATELESS

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """Nothing to clear on a stateless filter."""
        return SessionReport(SessionHandling.STATELESS, 0, 0, "stateless access list: nothing to clear")
