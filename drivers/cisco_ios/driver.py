"""``CiscoIosDriver``: IOS routers through netmiko ``cisco_ios``; safety net = the revert timer.

IOS has no candidate configuration: lines take effect as they are typed. The dead-man switch is IOS's
Configuration Rollback Confirmed Change: with ``archive`` / ``path`` configured, ``configure terminal
revert timer N`` archives the running config and restores it after N minutes unless ``configure confirm``
arrives; ``configure revert now`` restores it at once. So :meth:`load_candidate` only renders (and checks
that the change is expressible), and :meth:`commit` sends the lines inside a revert-timer session. The
archive path egressctl adds for the timer (only when the router has none) is recognisable by its name and
removed after the confirmed transition to normal, so a full restore gives back the original configuration.

A confirmed change is saved (``write memory``, :mod:`.persist`) so it survives a reload; an unconfirmed one
never is, so a reload while the timer runs drops it as the timer would.

Because every line is live, the lines themselves must never cut the session typing them (ce-a-like routers
are managed in band, through the very interface the ACL filters): :mod:`.render` builds each new ACL
complete under a free name and swaps it in with one line per interface (make-before-break).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios import persist as p
from egressctl_drivers.cisco_ios import render as r
from egressctl_drivers.cisco_ios.parse import ParseError, parse_state
from egressctl_drivers.cisco_ios.preflight import EFFECT
from egressctl_drivers.cisco_ios.preflight import preflight as _preflight
from egressctl_drivers.cisco_ios.switchcheck import shutdown_uplinks
from egressctl_drivers.common import persist as P
from egressctl_drivers.common import sessions as S
from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase, whole_minutes

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

_BINDINGS_CMD = "show running-config | include ^interface |access-group|traffic-filter|^ shutdown"
_ARCHIVE_CMD = "show running-config | section ^archive"
_log = logging.getLogger(__name__)


def revert_minutes(seconds: int) -> int:
    """IOS revert timers count whole minutes (1..120): round ``seconds`` up, clamp to the range."""
    return whole_minutes(seconds, c.REVERT_MIN_MINUTES, c.REVERT_MAX_MINUTES)


class CiscoIosDriver(NetmikoDriverBase):
    """Cisco IOS / IOS-XE routers; see the module docstring for the commit model."""

    platform: ClassVar[str] = "cisco_ios"
    #: A Catalyst switch too (``role: switch``): ACLs on SVIs/uplinks, or uplinks shut (.parse.points).
    roles: ClassVar[frozenset[str]] = frozenset({"router", "switch"})
    netmiko_device_type: ClassVar[str] = "cisco_ios"
    #: The revert timer restores the archive on the router itself; interface ACLs keep no sessions, so there
    #: is nothing to end (no SESSION_KILL, and the plan says why).
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.NATIVE_CONFIRM
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    _candidate: list[str] | None = None
    #: This session saved after its confirm (``write memory`` answered [OK]).
    _saved: bool = False

    def prepare(self) -> None:
        """Enter privileged EXEC (``enable``, answered with the secret)."""
        self.conn.enable()

    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """Configuration lines taking the router from ``current`` to ``policy`` ([] when already there)."""
        return r.render(self.device, policy, current)

    def read_state(self) -> DeviceState:
        """Parse egressctl's ACLs and their interface bindings from the running config."""
        raw = self.send("show running-config | section access-list") + "\n!\n" + self.send(_BINDINGS_CMD)
        try:
            return parse_state(self.device, raw, pending=self.has_pending_commit())
        except (ParseError, ValueError, IndexError) as exc:
            raise DeviceError(self.device.name, f"cannot parse egressctl's ACLs: {exc}") from exc

    def snapshot(self) -> str:
        """``show running-config``."""
        return self.send("show running-config", read_timeout=max(self.timeout, 60))

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Render the change; refuse when a site ACL already filters where egressctl binds its own.

        IOS allows one inbound ACL per interface and family, so binding egressctl's would silently
        replace the site's: egressctl never touches what it does not own, and says so instead.
        """
        foreign = r.foreign_inbound(self.device, current.raw) if current.raw else {}
        if foreign and not policy.is_normal:
            what = "; ".join(f"{i}: {', '.join(n)}" for i, n in sorted(foreign.items()))
            raise CommandRejected(
                self.device.name, "an interface already has a site ACL where egressctl binds its "
                "own; egressctl will not replace it", device_output=what)
        self._candidate = self.render(policy, current)

    def diff(self) -> str:
        """The configuration lines the commit will send (IOS has no candidate to compare)."""
        return "\n".join(self._candidate or [])

    def commit(self, revert_in: int) -> None:
        """Open a revert-timer session and send the lines, after ensuring an archive path.

        The archive path is added only when the router has none (a site's own is used as it is). A line
        the router rejects is undone at once (``configure revert now``) and raised as ``CommandRejected``
        with the router's own text.
        """
        if not self._candidate:
            return
        if self.has_pending_commit():
            raise CommitError(self.device.name, "a confirmed change is already pending on the router")
        self.send_config(r.archive_setup(self.send(_ARCHIVE_CMD)))
        cmd = f"configure terminal revert timer {revert_minutes(revert_in)}"
        try:
            with map_netmiko_errors(self.device.name, "configure terminal revert timer"):
                out = self.conn.config_mode(config_command=cmd)
        except ValueError as exc:
            raise CommitError(self.device.name, "cannot open a revert-timer session", str(exc)) from exc
        self.check_output(cmd, out)
        try:
            self.send_config(self._candidate, enter_config_mode=False)
        except DeviceError:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Leave config mode and revert what was typed so far (best effort; the timer remains armed)."""
        try:
            with map_netmiko_errors(self.device.name, "end"):
                self.conn.exit_config_mode()
            self.send("configure revert now", check=False)
        except DeviceError:
            pass

    def confirm(self) -> None:
        """``configure confirm``; ``ConfirmError`` when no change is pending (the timer already fired)."""
        if not self.has_pending_commit():
            raise ConfirmError(self.device.name, "no confirmed change pending (the timer already fired)")
        out = self.send("configure confirm", check=False)
        if c.NO_PENDING in out or self.has_pending_commit():
            raise ConfirmError(self.device.name, "configure confirm failed", device_output=out)
        self._save_confirmed()  # first: the shorter the gap after the confirm, the less a reload there loses
        if self._remove_own_archive() and self._saved:
            self._save_confirmed()

    def _save_confirmed(self) -> None:
        """Persist the change just confirmed (see :mod:`.persist`); never raises.

        The change is confirmed and live whatever the save does, so a failure must not undo it (rolling
        back a confirmed cut would reopen the site): it is kept for :meth:`ensure_saved`, which retries
        once and reports it, and the operation ends as needing attention.
        """
        P.save_confirmed(self.save, self.device.name, _log)

    def save(self) -> None:
        """``write memory``; ``DeviceError`` unless the router answers ``[OK]``."""
        P.write_startup(self, p.SAVE_CMD, p.save_problem)
        self._saved = True

    def unsaved(self) -> bool:
        """True when egressctl's ACLs or bindings in the startup-config differ from the running-config's."""
        return p.differs(P.slow_show(self), shutdown_uplinks(self.device))

    def ensure_saved(self) -> str:
        """Make the startup-config hold egressctl's state once the router is at its target for good.

        Called by the lifecycle after a confirm and on every device a run leaves at its target (a re-run
        that finds it there saves what a crashed run confirmed but never saved). Never saves while a
        revert timer is armed. Returns a note for the journal when it saved now, "" when nothing was
        needed; raises ``DeviceError`` when the save fails (the change stays live: needs attention).
        """
        if self._saved or self.has_pending_commit():
            return ""
        if not self.unsaved():
            return ""
        self.save()
        return p.SAVED_NOTE

    def net_description(self) -> NetDescription:
        """The revert timer, and the save that follows the confirm (shown by ``plan`` and ``check``)."""
        return NetDescription(self.safety_net, f"{EFFECT}; {p.PLAN_NOTE}")

    def _remove_own_archive(self) -> bool:
        """Cleanup after a confirmed change: drop the archive :meth:`commit` added if nothing else remains.

        Runs only once the change is confirmed (no timer needs the archive any more) and only when the
        router, read back, holds nothing of egressctl's, i.e. after the transition to normal. Whether
        egressctl added the archive is read from the device (its path, ``constants.ARCHIVE_PATH``), never
        remembered. The change it undid is already confirmed, so a failure here is logged, not raised: the
        leftover path is harmless and the next commit reuses it. True when it removed the path.
        """
        try:
            lines = r.archive_cleanup(self.send(_ARCHIVE_CMD))
            if lines and self.read_state().is_normal:
                self.send_config(lines)
                return True
        except DeviceError as exc:
            _log.warning("%s: could not remove egressctl's archive path: %s", self.device.name, exc)
        return False

    def rollback(self) -> None:
        """``configure revert now`` while a change is pending; afterwards only a new apply can undo it."""
        if not self.has_pending_commit():
            if self._candidate:
                raise RollbackError(self.device.name, "no pending change to revert (already confirmed or "
                                    "already reverted); apply the previous target instead")
            return
        out = self.send("configure revert now", check=False)
        if self.has_pending_commit():
            raise RollbackError(self.device.name, "configure revert now failed", device_output=out)

    def discard(self) -> None:
        """Forget the rendered lines (nothing was sent)."""
        self._candidate = None

    def has_pending_commit(self) -> bool:
        """True while a revert timer is armed (``show archive config rollback timer``)."""
        out = self.send("show archive config rollback timer", check=False)
        return c.NO_PENDING not in out and re.search(c.PENDING_RE, out) is not None

    # -------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Stateless: an interface ACL filters every packet (a constant of the platform, no device read)."""
        return SessionHandling.STATELESS

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """Nothing to end on a stateless ACL; the report says why (no SESSION_KILL, so it is not called)."""
        return S.stateless(c.STATELESS_NOTE)
