"""``AristaEosDriver``: EOS switches through netmiko ``arista_eos``; safety net = ``commit timer``.

EOS configuration sessions give the whole NAPALM lifecycle on the CLI: the lines are loaded into a new
session ``egressctl-XXXXXX`` (``configure session NAME`` ... ``end`` leaves it pending, nothing is live),
``show session-config named NAME diffs`` is the diff, ``commit timer hh:mm:ss`` applies the session in one
step and arms the switch's own rollback (no reboot), ``configure session NAME commit`` confirms, and
``configure session NAME abort`` rolls back a pending commit at once. ``show configuration sessions`` says
whether one of egressctl's sessions waits for its confirmation (state ``pendingCommitTimer``): the name to
confirm or abort is read from the switch, never remembered, so a re-run settles what a dead run left.

A confirmed change is saved to the startup-config at once (:mod:`.persist`), an unconfirmed one never is.
ACLs on a switch are stateless: a cut ends established flows by itself, and there is no session table to
clear, so the driver declares no session kill.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.arista_eos import constants as c
from egressctl_drivers.arista_eos import persist as p
from egressctl_drivers.arista_eos import render as r
from egressctl_drivers.arista_eos.parse import ParseError, own_sessions, parse_state
from egressctl_drivers.arista_eos.preflight import EFFECT
from egressctl_drivers.arista_eos.preflight import preflight as _preflight
from egressctl_drivers.common import persist as P
from egressctl_drivers.common import sessions as S
from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase

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

_log = logging.getLogger(__name__)


class AristaEosDriver(NetmikoDriverBase):
    """Arista EOS switches; see the module docstring for the commit model."""

    platform: ClassVar[str] = "arista_eos"
    netmiko_device_type: ClassVar[str] = "arista_eos"
    #: ``commit timer`` rolls back on the switch itself; stateless ACLs keep no sessions to end.
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.NATIVE_CONFIRM
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    _candidate: list[str] | None = None
    _session: str = ""
    _committed: bool = False
    _saved: bool = False

    def prepare(self) -> None:
        """Privileged EXEC: a privilege-15 user is there already, others answer ``enable``."""
        self.conn.enable()

    # -------------------------------------------------------------- session state
    def sessions(self) -> dict[str, str]:
        """The switch's sessions that are egressctl's, and their states (read, never remembered)."""
        return own_sessions(self.send(c.SESSIONS_CMD, check=False))

    def _waiting(self) -> str:
        """The name of egressctl's session waiting for its confirmation, "" when none waits."""
        return next((n for n, st in self.sessions().items() if st == c.PENDING_STATE), "")

    def _session_cmd(self, name: str, action: str, error: type[DeviceError]) -> str:
        out = self.send(f"configure session {name} {action}", check=False)
        try:
            self.check_output(action, out)
        except CommandRejected as exc:
            raise error(self.device.name, f"configure session {name} {action} failed",
                        device_output=exc.device_output) from exc
        return out

    # -------------------------------------------------------------- contract
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """Session lines taking the switch from ``current`` to ``policy`` ([] when already there)."""
        return r.render(self.device, policy, current)

    def read_state(self) -> DeviceState:
        """Parse egressctl's ACLs and their bindings from the running config."""
        raw = self.send(c.READ_BACK)
        try:
            return parse_state(self.device, raw, pending=self.has_pending_commit())
        except (ParseError, ValueError, IndexError) as exc:
            raise DeviceError(self.device.name, f"cannot parse egressctl's ACLs: {exc}") from exc

    def snapshot(self) -> str:
        """``show running-config``."""
        return self.send("show running-config", read_timeout=max(self.timeout, 60))

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Load the lines into session ``egressctl``; refuse a site ACL bound where egressctl's would go.

        EOS binds one ACL per interface, family and direction, so binding egressctl's would silently
        replace the site's. A pending (uncommitted) ``egressctl`` session left by an interrupted run is
        aborted first; one whose commit waits for confirmation is refused (confirm or roll it back first).
        """
        foreign = r.foreign_groups(self.device, current.raw) if current.raw else {}
        if foreign and not policy.is_normal:
            what = "; ".join(f"{i}: {', '.join(n)}" for i, n in sorted(foreign.items()))
            raise CommandRejected(self.device.name, "an outside interface already has a site ACL out; "
                                  "egressctl will not replace it", device_output=what)
        self._candidate = self.render(policy, current)
        if not self._candidate:
            return
        states = self.sessions()
        if c.PENDING_STATE in states.values():
            raise CommitError(self.device.name, "a commit of egressctl's waits for confirmation")
        for name in [n for n, st in states.items() if st == "pending"]:  # left by an interrupted run
            self._session_cmd(name, "abort", CommitError)
        self._session = f"{c.SESSION}-{secrets.token_hex(3)}"
        with map_netmiko_errors(self.device.name, "configure session"):
            self.conn.config_mode(config_command=f"configure session {self._session}")
        try:
            self.send_config(self._candidate, enter_config_mode=False, exit_config_mode=True)
        except DeviceError:
            self.discard()
            raise

    def diff(self) -> str:
        """``show session-config named NAME diffs`` (a unified diff against the running config)."""
        if not self._candidate:
            return ""
        return self.send(f"show session-config named {self._session} diffs")

    def commit(self, revert_in: int) -> None:
        """``commit timer hh:mm:ss`` in the loaded session: applied now, rolled back unless confirmed."""
        if not self._candidate:
            return
        with map_netmiko_errors(self.device.name, "configure session"):
            self.conn.config_mode(config_command=f"configure session {self._session}")
            base = re.escape(self.conn.base_prompt)
            out = str(self.conn.send_command(f"commit timer {r.timer(revert_in)}",
                                             expect_string=rf"{base}(?:\(config[^)]*\))?[>#]",
                                             read_timeout=max(self.timeout, 60)))
        try:
            self.check_output("commit timer", out)
        except CommandRejected as exc:  # e.g. another session's commit timer is pending
            with map_netmiko_errors(self.device.name, "end"):
                self.conn.exit_config_mode()
            raise CommitError(self.device.name, "commit timer refused",
                              device_output=exc.device_output) from exc
        if not self.has_pending_commit():
            raise CommitError(self.device.name, "commit timer did not leave a commit pending",
                              device_output=out)
        self._committed = True

    def confirm(self) -> None:
        """``configure session NAME commit``; ``ConfirmError`` when nothing waits (the timer fired)."""
        name = self._waiting()
        if not name:
            raise ConfirmError(self.device.name, "no commit waiting for confirmation (the timer fired)")
        out = self._session_cmd(name, "commit", ConfirmError)
        if self.has_pending_commit():
            raise ConfirmError(self.device.name, "the commit is still pending after confirming",
                               device_output=out)
        P.save_confirmed(self.save, self.device.name, _log)  # a failure is left to ensure_saved, never undone

    # -------------------------------------------------------------- persistence
    def save(self) -> None:
        """``copy running-config startup-config``; ``DeviceError`` unless the switch confirms the copy."""
        P.write_startup(self, p.SAVE_CMD, p.save_problem)
        self._saved = True

    def ensure_saved(self) -> str:
        """Make the startup-config hold egressctl's state once the switch is at its target for good.

        Never saves while a commit timer runs; returns a note when it saved now, "" when nothing was needed,
        and raises ``DeviceError`` when the save fails (the change stays live: needs attention).
        """
        if self._saved or self.has_pending_commit():
            return ""
        if not p.differs(P.slow_show(self)):
            return ""
        self.save()
        return p.SAVED_NOTE

    def net_description(self) -> NetDescription:
        """The commit timer, and the save that follows the confirm (shown by ``plan`` and ``check``)."""
        return NetDescription(self.safety_net, f"{EFFECT}; {p.PLAN_NOTE}")

    def rollback(self) -> None:
        """``configure session NAME abort`` while a commit is pending (back to the checkpoint)."""
        name = self._waiting()
        if not name:
            if self._committed:
                raise RollbackError(self.device.name, "no pending commit to roll back (already confirmed "
                                    "or already rolled back); apply the previous target instead")
            self.discard()
            return
        out = self._session_cmd(name, "abort", RollbackError)
        if self.has_pending_commit():
            raise RollbackError(self.device.name, "abort left the commit pending", device_output=out)
        self._committed = False

    def discard(self) -> None:
        """Abort the loaded session when it holds an uncommitted candidate."""
        self._candidate = None
        if self._conn is None or not self._session:
            return
        with map_netmiko_errors(self.device.name, "end"):
            self.conn.exit_config_mode()
        if self.sessions().get(self._session) == "pending":
            self._session_cmd(self._session, "abort", DeviceError)

    def has_pending_commit(self) -> bool:
        """True while a session of egressctl's is ``pendingCommitTimer`` (``show configuration sessions``)."""
        return bool(self._waiting())

    # -------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Stateless: an ACL filters every packet (a constant of the platform, no device read)."""
        return SessionHandling.STATELESS

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """Nothing to end on a stateless ACL; the report says why (no SESSION_KILL, so it is not called)."""
        return S.stateless(c.STATELESS_NOTE)
